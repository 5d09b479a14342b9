import { RemovalPolicy, Stack, aws_iam as iam } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { HandlerRuntimeOptions } from './handler-runtime';
import { allowOnAnyRepository, handlerResource } from './private/handler-function';
import { pinnedHandlerRuntime } from './private/handler-runtime';
import { keepsOwnCatalogAndPolicy } from './private/own-children';
import { policyProblems, policyText } from './private/policy-document';
import { invalid } from './private/validation';
import type { IPublicRepository } from './public-repository';
import { HANDLER_KINDS, PolicyProperties, RESOURCE_TYPES } from './shared/handler-contract';

/** Properties of a {@link PublicRepositoryPolicy}. */
export interface PublicRepositoryPolicyProps extends HandlerRuntimeOptions {
  /** The repository the policy applies to; it may be imported. */
  readonly repository: IPublicRepository;

  /**
   * The policy. Statements added with `document.addStatements` later are included. Statements name principals and
   * actions but no resources: the policy applies to its repository, and ECR refuses a `Resource` element.
   * @default - an empty document; add statements before synthesis
   */
  readonly document?: iam.PolicyDocument;

  /**
   * What happens to the policy when this resource is deleted: `RETAIN` leaves it on the repository.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The repository policy of a repository imported with `PublicRepository.fromRepositoryName` (SetRepositoryPolicy on
 * create and update, DeleteRepositoryPolicy on delete). A {@link PublicRepository} carries its own policy: use its
 * `addToResourcePolicy`.
 */
export class PublicRepositoryPolicy extends Construct {
  /** The policy document; add statements to it until synthesis. */
  public readonly document: iam.PolicyDocument;

  /**
   * @param scope the construct this one is defined in
   * @param id the id of this construct, unique within `scope`
   * @param props the PublicRepositoryPolicyProps
   */
  constructor(scope: Construct, id: string, props: PublicRepositoryPolicyProps) {
    super(scope, id);
    // Two policies for one repository would overwrite each other: a PublicRepository carries its own.
    if (keepsOwnCatalogAndPolicy(props.repository)) {
      invalid(this, 'repository', 'is a PublicRepository, which keeps its own policy: use repository.addToResourcePolicy(statement)');
    }
    this.document = props.document ?? new iam.PolicyDocument();
    const stack = Stack.of(this);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const properties: PolicyProperties = {
      RepositoryName: props.repository.repositoryName,
      PolicyText: policyText(stack, this.document),
      RetainOnDelete: String(removalPolicy === RemovalPolicy.RETAIN),
    };
    handlerResource(this, {
      kind: HANDLER_KINDS.policy,
      resourceType: RESOURCE_TYPES.policy,
      properties,
      roleStatements: [allowOnAnyRepository(this, ['ecr-public:SetRepositoryPolicy', 'ecr-public:DeleteRepositoryPolicy'])],
      functionOptions: { runtime: pinnedHandlerRuntime(this, props.handlerRuntime) },
    });

    this.node.addValidation({ validate: () => policyProblems(stack, 'document', this.document, false) });
  }

  /** Adds statements to the policy. */
  public addStatements(...statements: iam.PolicyStatement[]): void {
    this.document.addStatements(...statements);
  }
}
