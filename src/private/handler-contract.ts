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
} as const;

export const RESOURCE_TYPES = {
  repository: 'Custom::EcrPublicRepository',
  catalogData: 'Custom::EcrPublicRepositoryCatalogData',
  policy: 'Custom::EcrPublicRepositoryPolicy',
  registry: 'Custom::EcrPublicRegistry',
  image: 'Custom::EcrPublicImage',
} as const;

/** Properties of `Custom::EcrPublicRepository`. */
export interface RepositoryProperties {
  readonly RepositoryName: string;
  /** Resource tags, as CloudFormation tags. */
  readonly Tags?: Array<{ Key: string; Value: string }>;
  /** 'true' to delete the repository's images with it (DeleteRepository force). */
  readonly EmptyOnDelete?: string;
}

/** Attributes of `Custom::EcrPublicRepository` (Fn::GetAtt names). */
export interface RepositoryAttributes {
  readonly RepositoryName: string;
  readonly RepositoryArn: string;
  readonly RepositoryUri: string;
  readonly RegistryId: string;
}

/** Properties of `Custom::EcrPublicRepositoryCatalogData`: the full desired catalog. */
export interface CatalogDataProperties {
  readonly RepositoryName: string;
  readonly Description?: string;
  readonly Architectures?: string[];
  readonly OperatingSystems?: string[];
  readonly AboutText?: string;
  readonly UsageText?: string;
  /** S3 location of the logo asset. */
  readonly LogoBucket?: string;
  readonly LogoKey?: string;
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

