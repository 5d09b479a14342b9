import { RemovalPolicy } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { CatalogText } from './catalog-text';
import { Architecture, OperatingSystem } from './catalog-values';
import { HandlerRuntimeOptions } from './handler-runtime';
import { Logo } from './logo';
import { bindCatalog } from './private/catalog-binding';
import { allowOnAnyRepository, handlerResource } from './private/handler-function';
import { pinnedHandlerRuntime } from './private/handler-runtime';
import { keepsOwnCatalogAndPolicy } from './private/own-children';
import { invalid } from './private/validation';
import type { IPublicRepository } from './public-repository';
import { CatalogDataProperties, HANDLER_KINDS, RESOURCE_TYPES } from './shared/handler-contract';

/** The catalog data shown on a repository's Gallery page. Every field is optional. */
export interface RepositoryCatalogOptions {
  /**
   * A short description (at most 1,024 characters).
   * @default - no description
   */
  readonly description?: string;

  /**
   * Architectures the images run on (at most 50).
   * @default - none
   */
  readonly architectures?: Architecture[];

  /**
   * Operating systems the images run on (at most 50).
   * @default - none
   */
  readonly operatingSystems?: OperatingSystem[];

  /**
   * The repository logo: a PNG or JPEG of at most 512,000 bytes, published as an S3 asset.
   * @default - no logo
   */
  readonly logo?: Logo;

  /**
   * Markdown for the "About" section (at most 25,600 characters).
   * @default - none
   */
  readonly aboutText?: CatalogText;

  /**
   * Markdown for the "Usage" section (at most 25,600 characters).
   * @default - none
   */
  readonly usageText?: CatalogText;
}

/** Properties of a {@link PublicRepositoryCatalogData}. */
export interface PublicRepositoryCatalogDataProps extends RepositoryCatalogOptions, HandlerRuntimeOptions {
  /** The repository to describe; it may be imported. */
  readonly repository: IPublicRepository;

  /**
   * What happens to the catalog data when this resource is deleted: `RETAIN` leaves it in place, `DESTROY` clears it.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The catalog data of a repository imported with `PublicRepository.fromRepositoryName` (a `PublicRepository` carries
 * its own: give it the catalog properties). The texts and the logo travel as S3 assets. Each deploy sends the full desired state (PutRepositoryCatalogData), so a field
 * removed from the props is cleared in the registry.
 */
export class PublicRepositoryCatalogData extends Construct {
  /** The URL the registry serves the logo at, when there is a logo. */
  public readonly logoUrl: string;

  /**
   * @param scope the construct this one is defined in
   * @param id the id of this construct, unique within `scope`
   * @param props the PublicRepositoryCatalogDataProps
   */
  constructor(scope: Construct, id: string, props: PublicRepositoryCatalogDataProps) {
    super(scope, id);
    // Two catalogs for one repository would overwrite each other: a PublicRepository carries its own.
    if (keepsOwnCatalogAndPolicy(props.repository)) {
      invalid(this, 'repository', 'is a PublicRepository, which keeps its own catalog data: give the catalog properties to the PublicRepository');
    }
    const catalog = bindCatalog(this, props);
    const properties: CatalogDataProperties = {
      RepositoryName: props.repository.repositoryName,
      ...catalog.properties,
      RetainOnDelete: String((props.removalPolicy ?? RemovalPolicy.DESTROY) === RemovalPolicy.RETAIN),
    };
    const resource = handlerResource(this, {
      kind: HANDLER_KINDS.catalogData,
      resourceType: RESOURCE_TYPES.catalogData,
      properties,
      roleStatements: [allowOnAnyRepository(this, ['ecr-public:PutRepositoryCatalogData']), ...catalog.roleStatements],
      functionOptions: { runtime: pinnedHandlerRuntime(this, props.handlerRuntime) },
    });
    this.logoUrl = resource.getAttString('LogoUrl');
  }
}
