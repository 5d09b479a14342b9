import {
  Annotations, CustomResource, Fn, IResource, Names, RemovalPolicy, Resource, ResourceProps, Stack, TagManager, Tags, TagType, Token,
  TokenComparison, aws_iam as iam,
} from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import { HandlerRuntimeOptions } from './handler-runtime';
import { LifecycleOptions, LifecycleRule } from './lifecycle/lifecycle-rule';
import { RepositoryLifecycleBinding } from './lifecycle/repository-lifecycle';
import { bindCatalog } from './private/catalog-binding';
import { AUTH_ACTIONS, PUSH_ACTIONS, READ_ACTIONS, REPOSITORY_HANDLER_ACTIONS } from './private/ecr-public-actions';
import { allowOnAnyRepository, handlerResource, repositoryArnFor } from './private/handler-function';
import { pinnedHandlerRuntime } from './private/handler-runtime';
import { registerOwnCatalogAndPolicy } from './private/own-children';
import { policyProblems, policyText } from './private/policy-document';
import { recordSynthName, synthName } from './private/repository-names';
import { invalid, tagProblems, validateRepositoryName } from './private/validation';
import { PublicRegistry } from './public-registry';
import { RepositoryCatalogOptions } from './repository-catalog-data';
import { HANDLER_KINDS, RepositoryProperties, RESOURCE_TYPES } from './shared/handler-contract';

/** `arn:<partition>:ecr-public::<12 digits>:repository/<name>` (ECR Public ARNs have no region). */
const REPOSITORY_ARN = /^arn:aws[a-z-]*:ecr-public::(\d{12}):repository\/(.+)$/;

/** A public repository, created by this app or imported. */
export interface IPublicRepository extends IResource {
  /**
   * The repository name.
   * @attribute
   */
  readonly repositoryName: string;

  /**
   * The repository ARN, `arn:aws:ecr-public::<account>:repository/<name>`.
   * @attribute
   */
  readonly repositoryArn: string;

  /**
   * The repository URI, `public.ecr.aws/<registry alias>/<name>`.
   * @attribute
   */
  readonly repositoryUri: string;

  /**
   * The registry (account) id.
   * @attribute
   */
  readonly registryId: string;

  /** The URI of the image with `tag`. */
  repositoryUriForTag(tag: string): string;

  /** The URI of the image with `digest` (`sha256:...`). */
  repositoryUriForDigest(digest: string): string;

  /** Adds a statement to the repository policy, when this app manages it. */
  addToResourcePolicy(statement: iam.PolicyStatement): iam.AddToResourcePolicyResult;

  /** Grants `actions` on this repository. */
  grant(grantee: iam.IGrantable, ...actions: string[]): iam.Grant;

  /**
   * Grants what authenticated pulls need: `ecr-public:GetAuthorizationToken` and `sts:GetServiceBearerToken` on `*`.
   *
   * Anyone may pull from a public repository anonymously; authenticated pulls get 10 pulls per second instead of 1 and
   * are not subject to the 500 GB monthly cap on anonymous data transfer.
   */
  grantPull(grantee: iam.IGrantable): iam.Grant;

  /** Grants what pushing images needs: the push actions on this repository and the two authentication actions. */
  grantPush(grantee: iam.IGrantable): iam.Grant;

  /** Grants both {@link grantPull} and {@link grantPush}. */
  grantPullPush(grantee: iam.IGrantable): iam.Grant;

  /**
   * Grants reading the repository's metadata on this repository: DescribeImages, DescribeImageTags,
   * DescribeRepositories, GetRepositoryCatalogData, GetRepositoryPolicy and ListTagsForResource.
   */
  grantRead(grantee: iam.IGrantable): iam.Grant;
}

/** What a public repository can do, whether created here or imported. */
export abstract class PublicRepositoryBase extends Resource implements IPublicRepository {
  public abstract readonly repositoryName: string;
  public abstract readonly repositoryArn: string;
  public abstract readonly repositoryUri: string;
  public abstract readonly registryId: string;

  public abstract addToResourcePolicy(statement: iam.PolicyStatement): iam.AddToResourcePolicyResult;

  public repositoryUriForTag(tag: string): string {
    return `${this.repositoryUri}:${tag}`;
  }

  public repositoryUriForDigest(digest: string): string {
    return `${this.repositoryUri}@${digest}`;
  }

  /**
   * Grants `actions` on this repository as aws-ecr's `Repository.grant` does: a principal of this account gets them in
   * its identity policy; a principal of another account in the repository policy (and in its identity policy when it
   * is a role or user of this app). A role or user of this app in another account whose stack does not come after
   * this one cannot be named in the policy before it exists: its account is trusted instead, for principals carrying
   * the tag `aws-cdk:id` this grant puts on it.
   */
  public grant(grantee: iam.IGrantable, ...actions: string[]): iam.Grant {
    const foreign = this.unsafeCrossAccountPrincipal(grantee);
    if (foreign) {
      const foreignStack = Stack.of(foreign);
      const tag = `${foreignStack.stackName}_${foreign.node.addr}`;
      Tags.of(foreign).add('aws-cdk:id', tag);
      this.addToResourcePolicy(new iam.PolicyStatement({
        actions,
        principals: [new iam.AccountPrincipal(foreignStack.account)],
        conditions: { StringEquals: { 'aws:PrincipalTag/aws-cdk:id': tag } },
      }));
      // The ARN as known at synth: an attribute of this stack cannot be referenced from another account's.
      const name = synthName(this);
      const arn = Token.isUnresolved(this.repositoryArn) && name !== undefined
        ? this.stack.formatArn({ service: 'ecr-public', region: '', account: this.env.account, resource: 'repository', resourceName: name })
        : this.repositoryArn;
      return iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [arn] });
    }
    return iam.Grant.addToPrincipalOrResource({ grantee, actions, resourceArns: [this.repositoryArn], resourceSelfArns: [], resource: this });
  }

  /**
   * Grants the two authentication actions. IAM takes them from identity policies only: a principal of another account
   * (an `AccountPrincipal`, say) must be given them by that account.
   */
  public grantPull(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: [...AUTH_ACTIONS], resourceArns: ['*'] });
  }

  public grantPush(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ...PUSH_ACTIONS).combine(this.grantPull(grantee));
  }

  public grantPullPush(grantee: iam.IGrantable): iam.Grant {
    return this.grantPush(grantee);
  }

  public grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ...READ_ACTIONS);
  }

  /**
   * The grantee's principal when it is a role or user of this app in another account whose stack this repository's
   * stack does not depend on (its ARN cannot be referenced across accounts, and ECR refuses a policy naming a principal
   * that does not exist yet); undefined otherwise.
   */
  private unsafeCrossAccountPrincipal(grantee: iam.IGrantable): (iam.IPrincipal & IConstruct) | undefined {
    const principal = grantee.grantPrincipal;
    const account = principal.principalAccount;
    if (!account) return undefined;
    const comparison = Token.compareStrings(this.env.account, account);
    if (comparison === TokenComparison.BOTH_UNRESOLVED || comparison === TokenComparison.SAME) return undefined;
    if (!iam.principalIsOwnedResource(principal)) return undefined;
    const stack = Stack.of(principal);
    return stack === this.stack || this.stack.dependencies.includes(stack) ? undefined : principal;
  }
}

/** Attributes of a repository created outside this app. */
export interface PublicRepositoryAttributes {
  /** The repository name. */
  readonly repositoryName: string;

  /**
   * The registry alias the repository URI is built from (`public.ecr.aws/<alias>/<name>`).
   * @default - looked up at deploy time with DescribeRegistries
   */
  readonly registryAlias?: string;

  /**
   * The registry (account) id.
   * @default - the stack's account
   */
  readonly registryId?: string;
}

/** Properties of a {@link PublicRepository}. */
export interface PublicRepositoryProps extends RepositoryCatalogOptions, LifecycleOptions, HandlerRuntimeOptions {
  /**
   * The repository name: 2-205 lower-case characters, components separated by `/`. Changing it replaces the repository.
   * @default - a valid name generated from the construct path, stable across deploys
   */
  readonly repositoryName?: string;

  /**
   * What happens to the repository when it leaves the stack (or the stack is deleted).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Delete the repository's images with it. Requires `removalPolicy: RemovalPolicy.DESTROY`; without it, deleting a
   * repository that holds images fails.
   * @default false
   */
  readonly emptyOnDelete?: boolean;
}

/**
 * An Amazon ECR Public repository, with its catalog data and policy: one custom resource carries all three, so that a
 * stack holds hundreds of repositories. The catalog texts and the logo travel as S3 assets, never in the template.
 *
 * The repository is managed by a custom resource whose API client always targets us-east-1 (the only home of the ECR
 * Public API), so it can live in a stack of any region. Tag it with `Tags.of(repository).add(key, value)`.
 */
export class PublicRepository extends PublicRepositoryBase {
  /** Imports a repository of the stack's account by name. */
  public static fromRepositoryName(scope: Construct, id: string, repositoryName: string): IPublicRepository {
    return PublicRepository.fromRepositoryAttributes(scope, id, { repositoryName });
  }

  /** Imports a repository from its attributes. */
  public static fromRepositoryAttributes(scope: Construct, id: string, attrs: PublicRepositoryAttributes): IPublicRepository {
    validateRepositoryName(scope, 'repositoryName', attrs.repositoryName);
    return importRepository(scope, id, {
      repositoryName: attrs.repositoryName,
      repositoryArn: repositoryArnFor(scope, attrs.repositoryName),
      registryId: attrs.registryId ?? Stack.of(scope).account,
      registryAlias: attrs.registryAlias,
    });
  }

  /**
   * Imports a repository by its ARN, `arn:aws:ecr-public::<account>:repository/<name>`, which may be a token (the name
   * and account are then taken from it at deploy time). The registry alias in its URI is looked up at deploy time.
   */
  public static fromRepositoryArn(scope: Construct, id: string, repositoryArn: string): IPublicRepository {
    if (Token.isUnresolved(repositoryArn)) {
      return importRepository(scope, id, {
        repositoryName: Fn.select(1, Fn.split(':repository/', repositoryArn)),
        repositoryArn,
        registryId: Fn.select(4, Fn.split(':', repositoryArn)),
      });
    }
    const match = REPOSITORY_ARN.exec(repositoryArn);
    if (!match) {
      invalid(scope, 'repositoryArn', 'must be a public repository ARN, arn:aws:ecr-public::<account>:repository/<name>',
        JSON.stringify(repositoryArn));
    }
    validateRepositoryName(scope, 'repositoryArn', match[2]);
    return importRepository(scope, id, { repositoryName: match[2], repositoryArn, registryId: match[1] });
  }

  public readonly repositoryName: string;
  public readonly repositoryArn: string;
  public readonly repositoryUri: string;
  public readonly registryId: string;

  /** Resource tags of the repository; use `Tags.of(repository)`. */
  public readonly tags: TagManager;

  /**
   * The URL the registry serves the repository's logo at; empty without a logo.
   * @attribute
   */
  public readonly logoUrl: string;

  /** The repository policy: statements accumulate here until synthesis. An empty policy means none. */
  private readonly policyDocument = new iam.PolicyDocument();
  private readonly resource: CustomResource;
  private readonly lifecycle: RepositoryLifecycleBinding;

  /**
   * @param scope the construct this one is defined in
   * @param id the id of this construct, unique within `scope`
   * @param props the PublicRepositoryProps
   */
  constructor(scope: Construct, id: string, props: PublicRepositoryProps = {}) {
    super(scope, id);
    const name = props.repositoryName ?? generateRepositoryName(this);
    validateRepositoryName(this, 'repositoryName', name);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    if (props.emptyOnDelete && removalPolicy !== RemovalPolicy.DESTROY) {
      invalid(this, 'emptyOnDelete', 'requires removalPolicy: RemovalPolicy.DESTROY');
    }
    this.tags = new TagManager(TagType.KEY_VALUE, RESOURCE_TYPES.repository);
    const stack = Stack.of(this);
    const runtime = pinnedHandlerRuntime(this, props.handlerRuntime);

    // One resource carries the repository, its catalog and its policy, always in full: a field or the last statement
    // removed from the app is an update that clears it, and a retained repository keeps both (nothing else is deleted).
    const catalog = bindCatalog(this, props);
    registerOwnCatalogAndPolicy(this);
    const properties: RepositoryProperties = {
      RepositoryName: name,
      Tags: this.tags.renderedTags as any,
      EmptyOnDelete: String(props.emptyOnDelete ?? false),
      ...catalog.properties,
      PolicyText: policyText(stack, this.policyDocument),
    };
    this.resource = handlerResource(this, {
      kind: HANDLER_KINDS.repository,
      resourceType: RESOURCE_TYPES.repository,
      properties,
      removalPolicy,
      roleStatements: [allowOnAnyRepository(this, REPOSITORY_HANDLER_ACTIONS), ...catalog.roleStatements],
      functionOptions: { runtime },
    });
    // The name as a reference to the resource, so that whatever uses it is ordered after the repository exists.
    this.repositoryName = this.resource.ref;
    recordSynthName(this, name);
    this.repositoryArn = this.resource.getAttString('RepositoryArn');
    this.repositoryUri = this.resource.getAttString('RepositoryUri');
    this.registryId = this.resource.getAttString('RegistryId');
    this.logoUrl = this.resource.getAttString('LogoUrl');
    this.lifecycle = new RepositoryLifecycleBinding(this, this.resource, name, props, runtime);
    this.node.addValidation({
      validate: () => [
        ...tagProblems(Object.entries(this.tags.tagValues()).map(([key, value]) => ({ key, value }))),
        ...policyProblems(stack, 'policy', this.policyDocument, true),
      ],
    });
  }

  /**
   * Adds a lifecycle rule, checked as `lifecycleRules` are; the stack's sweeper applies it (see `lifecycleRules`).
   * @param rule the rule
   */
  public addLifecycleRule(rule: LifecycleRule): void {
    this.lifecycle.addRule('addLifecycleRule', rule);
  }

  /** Adds a statement to the repository's policy, which the repository resource carries. */
  public addToResourcePolicy(statement: iam.PolicyStatement): iam.AddToResourcePolicyResult {
    this.policyDocument.addStatements(statement);
    return { statementAdded: true, policyDependable: this.resource };
  }
}

/** What an imported repository is known by. */
interface ImportedRepository {
  readonly repositoryName: string;
  readonly repositoryArn: string;
  readonly registryId: string;
  /** Looked up at deploy time when absent. */
  readonly registryAlias?: string;
}

/**
 * A repository managed elsewhere: grants go to the grantee's identity; its policy is left alone (a grant to another
 * account's principal, which only the repository policy could give, is warned about). Its account is the registry id
 * when that is known at synth, so that grants tell same-account principals from others.
 */
function importRepository(scope: Construct, id: string, attrs: ImportedRepository): IPublicRepository {
  const props: ResourceProps = Token.isUnresolved(attrs.registryId) ? {} : { account: attrs.registryId };
  class Import extends PublicRepositoryBase {
    public readonly repositoryName = attrs.repositoryName;
    public readonly repositoryArn = attrs.repositoryArn;
    public readonly registryId = attrs.registryId;

    public get repositoryUri(): string {
      const registryUri = attrs.registryAlias !== undefined
        ? `public.ecr.aws/${attrs.registryAlias}`
        : PublicRegistry.lookup(this).registryUri;
      return `${registryUri}/${this.repositoryName}`;
    }

    public addToResourcePolicy(statement: iam.PolicyStatement): iam.AddToResourcePolicyResult {
      // The policy of a repository managed elsewhere is not ours to overwrite; use PublicRepositoryPolicy explicitly.
      // Only principals known to be of another account: with an account unknown at synth, they may well be this one's.
      const foreign = statement.principals.filter((p) => p.principalAccount !== undefined
        && Token.compareStrings(this.env.account, p.principalAccount) === TokenComparison.DIFFERENT);
      if (foreign.length === 0) return { statementAdded: false };
      const who = foreign.map((p) => p.toString()).join(', ');
      Annotations.of(this).addWarningV2('cdk-ecr-public:importedRepositoryPolicy',
        `${statement.actions.join(', ')} for ${who} not granted: a principal of another account needs the repository policy, `
        + `and the policy of ${this.repositoryName}, managed elsewhere, is not changed by this app; add the statement there `
        + '(a PublicRepositoryPolicy in the app that manages the repository)');
      return { statementAdded: false };
    }
  }
  return new Import(scope, id, props);
}

/** A name that satisfies the repository-name pattern, derived from the construct path so that it is stable. */
function generateRepositoryName(scope: Construct): string {
  const unique = Names.uniqueResourceName(scope, { maxLength: 200, separator: '-' }).toLowerCase();
  const name = unique.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return Token.isUnresolved(name) ? name : name.slice(0, 205).replace(/-+$/, '');
}
