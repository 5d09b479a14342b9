import { createHash } from 'crypto';
import { Aspects, CfnResource, CustomResource, IAspect, Lazy, Stack } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import { HandlerRuntimeOptions } from './handler-runtime';
import { allow, handlerResource, registryArnFor } from './private/handler-function';
import { pinnedHandlerRuntime } from './private/handler-runtime';
import { validateMaxLength } from './private/validation';
import { HANDLER_KINDS, RegistryProperties, RESOURCE_TYPES } from './shared/handler-contract';

/** Properties of a {@link PublicRegistry}. */
export interface PublicRegistryProps extends HandlerRuntimeOptions {
  /**
   * The registry's display name in the Gallery (at most 100 characters; shown for verified accounts).
   * Removing the construct leaves the name in place: it belongs to the account, not to one stack.
   * @default - the display name is not managed
   */
  readonly displayName?: string;
}

/**
 * The account's public registry: its catalog data (display name) and its identity (id, alias, URI).
 *
 * The registry gets its default alias when the account's first public repository is created, so in a stack that
 * creates repositories, this resource is deployed after them.
 */
export class PublicRegistry extends Construct {
  /** The stack's registry lookup (no display name managed), created on first use. */
  public static lookup(scope: Construct): PublicRegistry {
    const stack = Stack.of(scope);
    const id = 'EcrPublicRegistryLookup';
    return (stack.node.tryFindChild(id) as PublicRegistry | undefined) ?? new PublicRegistry(stack, id);
  }

  /**
   * The registry (account) id.
   * @attribute
   */
  public readonly registryId: string;

  /**
   * The registry ARN, `arn:aws:ecr-public::<account>:registry/<account>`.
   * @attribute
   */
  public readonly registryArn: string;

  /**
   * The registry's primary alias (empty while the account has no public repository).
   * @attribute
   */
  public readonly registryAlias: string;

  /**
   * The registry URI, `public.ecr.aws/<alias>`.
   * @attribute
   */
  public readonly registryUri: string;

  /**
   * @param scope the construct this one is defined in
   * @param id the id of this construct, unique within `scope`
   * @param props the PublicRegistryProps
   */
  constructor(scope: Construct, id: string, props: PublicRegistryProps = {}) {
    super(scope, id);
    validateMaxLength(this, 'displayName', props.displayName, 100);
    const properties: RegistryProperties = { DisplayName: props.displayName };
    const resource = handlerResource(this, {
      kind: HANDLER_KINDS.registry,
      resourceType: RESOURCE_TYPES.registry,
      properties,
      roleStatements: [allow([
        'ecr-public:DescribeRegistries',
        ...(props.displayName !== undefined ? ['ecr-public:PutRegistryCatalogData'] : []),
      ], [registryArnFor(this)])],
      functionOptions: { runtime: pinnedHandlerRuntime(this, props.handlerRuntime) },
    });
    this.registryId = resource.getAttString('RegistryId');
    this.registryArn = resource.getAttString('RegistryArn');
    this.registryAlias = resource.getAttString('RegistryAlias');
    this.registryUri = resource.getAttString('RegistryUri');
    Aspects.of(Stack.of(this)).add(new AfterRepositories(resource));
  }
}

/** Orders a registry resource after every repository of its stack, so that the default alias exists when it runs. */
class AfterRepositories implements IAspect {
  private readonly repositories = new Set<string>();

  constructor(private readonly registry: CustomResource) {
    // The registry's attributes are read at create and update: a property that changes with the stack's repositories
    // refreshes them when repositories come or go (the first one gives the registry its alias).
    (registry.node.defaultChild as CfnResource).addPropertyOverride('Repositories', Lazy.string({
      produce: () => createHash('sha256').update([...this.repositories].sort().join('\n')).digest('hex').slice(0, 16),
    }));
  }

  public visit(node: IConstruct): void {
    if (node instanceof CustomResource && node !== this.registry && Stack.of(node) === Stack.of(this.registry)
      && (node.node.defaultChild as any)?.cfnResourceType === RESOURCE_TYPES.repository) {
      this.registry.node.addDependency(node);
      this.repositories.add(node.node.path);
    }
  }
}
