/**
 * The contract between the constructs and the custom-resource handlers: resource types and property names. Both sides
 * import this file, so the names cannot drift. CloudFormation passes every scalar property as a string.
 */

/** Handler kinds: each is bundled from `lambda/<kind>/index.ts` into `assets/<kind>/index.js`. */
export const HANDLER_KINDS = {
  repository: 'repository',
  catalogData: 'repository-catalog-data',
  policy: 'repository-policy',
  registry: 'registry',
  image: 'image-publisher',
  lifecycleSweeper: 'lifecycle-sweeper',
} as const;

/** What every resource type of this library starts with (synth-time stack limits and the local deployer tell ours by it). */
export const RESOURCE_TYPE_PREFIX = 'Custom::EcrPublic';

export const RESOURCE_TYPES = {
  repository: 'Custom::EcrPublicRepository',
  catalogData: 'Custom::EcrPublicRepositoryCatalogData',
  policy: 'Custom::EcrPublicRepositoryPolicy',
  registry: 'Custom::EcrPublicRegistry',
  image: 'Custom::EcrPublicImage',
  lifecycleSweep: 'Custom::EcrPublicLifecycleSweep',
} as const;

/**
 * The catalog fields of a resource, the full desired catalog. Texts and the logo travel as S3 assets (content-addressed
 * keys, so a changed text is a changed property); a text is inline only when it holds deploy-time values, which no asset
 * can carry.
 */
export interface CatalogFields {
  readonly Description?: string;
  readonly Architectures?: string[];
  readonly OperatingSystems?: string[];
  /** Inline "About" markdown (only a text with deploy-time values). */
  readonly AboutText?: string;
  /** S3 location of the "About" markdown asset. */
  readonly AboutTextBucket?: string;
  readonly AboutTextKey?: string;
  /** Inline "Usage" markdown (only a text with deploy-time values). */
  readonly UsageText?: string;
  /** S3 location of the "Usage" markdown asset. */
  readonly UsageTextBucket?: string;
  readonly UsageTextKey?: string;
  /** S3 location of the logo asset. */
  readonly LogoBucket?: string;
  readonly LogoKey?: string;
}

/** Properties of `Custom::EcrPublicRepository`: the repository with its full desired catalog and policy. */
export interface RepositoryProperties extends CatalogFields {
  readonly RepositoryName: string;
  /** Resource tags, as CloudFormation tags. */
  readonly Tags?: Array<{ Key: string; Value: string }>;
  /** 'true' to delete the repository's images with it (DeleteRepository force). */
  readonly EmptyOnDelete?: string;
  /** The policy document as JSON text; empty or absent means no policy. */
  readonly PolicyText?: string;
}

/** Attributes of `Custom::EcrPublicRepository` (Fn::GetAtt names). */
export interface RepositoryAttributes {
  readonly RepositoryName: string;
  readonly RepositoryArn: string;
  readonly RepositoryUri: string;
  readonly RegistryId: string;
  /** The URL the registry serves the logo at; empty without a logo. */
  readonly LogoUrl: string;
}

/** Properties of `Custom::EcrPublicRepositoryCatalogData`: the full desired catalog of an imported repository. */
export interface CatalogDataProperties extends CatalogFields {
  readonly RepositoryName: string;
  /** 'true' when the repository is retained on delete: the catalog is then left in place. */
  readonly RetainOnDelete?: string;
}

/** Properties of `Custom::EcrPublicRepositoryPolicy`. */
export interface PolicyProperties {
  readonly RepositoryName: string;
  /** The policy document as JSON text. */
  readonly PolicyText: string;
  /** 'true' when the repository is retained on delete: the policy is then left in place. */
  readonly RetainOnDelete?: string;
}

/** Properties of `Custom::EcrPublicRegistry`. */
export interface RegistryProperties {
  /** The registry's display name; left out, the registry catalog is not touched (a lookup only). */
  readonly DisplayName?: string;
  /** Changes with the stack's repositories, so that the attributes (the alias) are read again; unused otherwise. */
  readonly Repositories?: string;
}

/** Attributes of `Custom::EcrPublicRegistry`. */
export interface RegistryAttributes {
  readonly RegistryId: string;
  readonly RegistryArn: string;
  /** Empty until the account's first public repository exists. */
  readonly RegistryAlias: string;
  readonly RegistryUri: string;
}

/** The physical id reported for a create that failed, so that the Delete CloudFormation then sends is a no-op. */
export const CREATE_FAILED_MARKER = 'cdk-ecr-public::CREATE_FAILED';

