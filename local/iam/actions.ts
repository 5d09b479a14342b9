/**
 * What each request is asked of IAM (emulator side): the actions and the resource of every ECR Public operation, of
 * each registry push request, and of an S3 read, as the Service Authorization Reference gives them (facts sheet 7.2).
 * One table, so that an operation the emulator answers cannot be missing from it (a test holds the two equal).
 */

/** What one request must be allowed: each action on the resource, with the request's own condition keys. */
export interface RequiredAccess {
  readonly actions: readonly string[];
  /** An ARN, or `*` for actions IAM takes on no narrower resource. */
  readonly resource: string;
  /** Condition keys of the request itself (`aws:RequestTag/<key>`, `aws:TagKeys`). @default - none */
  readonly context?: ReadonlyMap<string, readonly string[]>;
}

/** Where the resources of one registry are: its account (and partition). */
export interface RegistryScope {
  readonly account: string;
  /** @default 'aws' */
  readonly partition?: string;
}

export function repositoryArn(scope: RegistryScope, repositoryName: string): string {
  return `arn:${scope.partition ?? 'aws'}:ecr-public::${scope.account}:repository/${repositoryName}`;
}

export function registryArn(scope: RegistryScope): string {
  return `arn:${scope.partition ?? 'aws'}:ecr-public::${scope.account}:registry/${scope.account}`;
}

type Input = Readonly<Record<string, unknown>>;
type Rule = (scope: RegistryScope, input: Input) => RequiredAccess[];

const on = (action: string): Rule => (scope, input) => [{ actions: [`ecr-public:${action}`], resource: repositoryArn(scope, String(input.repositoryName)) }];
const onRegistry = (action: string): Rule => (scope) => [{ actions: [`ecr-public:${action}`], resource: registryArn(scope) }];

/** `[{Key, Value}]` of a request, as a map. */
function tagsOf(input: Input): Map<string, string> {
  const tags = new Map<string, string>();
  for (const t of (Array.isArray(input.tags) ? input.tags : []) as Array<{ Key?: unknown; Value?: unknown }>) {
    if (typeof t?.Key === 'string') tags.set(t.Key, typeof t.Value === 'string' ? t.Value : '');
  }
  return tags;
}

/** The repository an ARN of this registry names (the tagging operations take ARNs). */
function arnRepository(input: Input): string {
  return String(input.resourceArn ?? '').replace(/^arn:[^:]*:ecr-public::\d{12}:repository\//, '');
}

/**
 * Every operation of the ECR Public API: what IAM must allow. A Map: the operation name comes from the client's
 * `X-Amz-Target` (`__proto__` is a name like any other).
 */
export const OPERATION_ACCESS: ReadonlyMap<string, Rule> = new Map(Object.entries<Rule>({
  BatchCheckLayerAvailability: on('BatchCheckLayerAvailability'),
  BatchDeleteImage: on('BatchDeleteImage'),
  CompleteLayerUpload: on('CompleteLayerUpload'),
  // Tags given at creation need TagResource too (facts sheet 7.2), with the request's tags as condition keys.
  CreateRepository: (scope, input) => {
    const tags = tagsOf(input);
    const resource = repositoryArn(scope, String(input.repositoryName));
    return [
      { actions: ['ecr-public:CreateRepository'], resource, context: requestTagContext(tags) },
      ...(tags.size > 0 ? [{ actions: ['ecr-public:TagResource'], resource, context: requestTagContext(tags) }] : []),
    ];
  },
  DeleteRepository: on('DeleteRepository'),
  DeleteRepositoryPolicy: on('DeleteRepositoryPolicy'),
  DescribeImageTags: on('DescribeImageTags'),
  DescribeImages: on('DescribeImages'),
  DescribeRegistries: onRegistry('DescribeRegistries'),
  // Without names it lists the registry's repositories: asked on all of them.
  DescribeRepositories: (scope, input) => {
    const names = Array.isArray(input.repositoryNames) ? input.repositoryNames.map(String) : ['*'];
    return names.map((name) => ({ actions: ['ecr-public:DescribeRepositories'], resource: repositoryArn(scope, name) }));
  },
  // IAM takes both on no narrower resource; the bearer token needs the second.
  GetAuthorizationToken: () => [{ actions: ['ecr-public:GetAuthorizationToken', 'sts:GetServiceBearerToken'], resource: '*' }],
  GetRegistryCatalogData: onRegistry('GetRegistryCatalogData'),
  GetRepositoryCatalogData: on('GetRepositoryCatalogData'),
  GetRepositoryPolicy: on('GetRepositoryPolicy'),
  InitiateLayerUpload: on('InitiateLayerUpload'),
  ListTagsForResource: (scope, input) => [{ actions: ['ecr-public:ListTagsForResource'], resource: repositoryArn(scope, arnRepository(input)) }],
  PutImage: on('PutImage'),
  PutRegistryCatalogData: onRegistry('PutRegistryCatalogData'),
  PutRepositoryCatalogData: on('PutRepositoryCatalogData'),
  SetRepositoryPolicy: on('SetRepositoryPolicy'),
  TagResource: (scope, input) => [{
    actions: ['ecr-public:TagResource'], resource: repositoryArn(scope, arnRepository(input)), context: requestTagContext(tagsOf(input)),
  }],
  // Untagging names keys only: `aws:TagKeys`, no `aws:RequestTag`.
  UntagResource: (scope, input) => {
    const keys = Array.isArray(input.tagKeys) ? input.tagKeys.map(String) : [];
    return [{ actions: ['ecr-public:UntagResource'], resource: repositoryArn(scope, arnRepository(input)), context: new Map([['aws:TagKeys', keys]]) }];
  },
  UploadLayerPart: on('UploadLayerPart'),
}));

/** The kinds of request of the registry push API (pulls are anonymous, as on public.ecr.aws). */
export type RegistryPush = 'check-blob' | 'start-upload' | 'upload-chunk' | 'complete-upload' | 'put-manifest';

/** The ECR Public action behind each registry push request, as the service documents its push permissions. */
export const REGISTRY_PUSH_ACTIONS: Readonly<Record<RegistryPush, string>> = {
  'check-blob': 'ecr-public:BatchCheckLayerAvailability',
  'start-upload': 'ecr-public:InitiateLayerUpload',
  'upload-chunk': 'ecr-public:UploadLayerPart',
  'complete-upload': 'ecr-public:CompleteLayerUpload',
  'put-manifest': 'ecr-public:PutImage',
};

/** An S3 read of `key` in `bucket` (the stack's assets): `s3:GetObject` on the object. */
export function s3ReadAccess(bucket: string, key: string, partition = 'aws'): RequiredAccess {
  return { actions: ['s3:GetObject'], resource: `arn:${partition}:s3:::${bucket}/${key}` };
}

/** The condition keys of a request that tags: `aws:RequestTag/<key>` for each, and `aws:TagKeys`. */
function requestTagContext(tags: ReadonlyMap<string, string>): Map<string, readonly string[]> {
  const context = new Map<string, readonly string[]>();
  if (tags.size === 0) return context;
  for (const [key, value] of tags) context.set(`aws:RequestTag/${key}`, [value]);
  context.set('aws:TagKeys', [...tags.keys()]);
  return context;
}
