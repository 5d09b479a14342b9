/** The IAM actions of ECR Public that grants and handler roles name: each list written once. */

/**
 * The actions a push needs on the repository.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/public/public-repository-policy-examples.html
 */
export const PUSH_ACTIONS: readonly string[] = [
  'ecr-public:BatchCheckLayerAvailability',
  'ecr-public:InitiateLayerUpload',
  'ecr-public:UploadLayerPart',
  'ecr-public:CompleteLayerUpload',
  'ecr-public:PutImage',
];

/**
 * What the image publisher does: a push, and it reads images and repositories and removes images it published; a
 * publish longer than one run records which run owns it as a repository tag (`hand-over-guard.ts`).
 */
export const IMAGE_PUBLISHER_ACTIONS: readonly string[] = [
  ...PUSH_ACTIONS, 'ecr-public:DescribeImages', 'ecr-public:DescribeRepositories', 'ecr-public:BatchDeleteImage',
  'ecr-public:TagResource', 'ecr-public:UntagResource', 'ecr-public:ListTagsForResource',
];

/** What the repository handler does: the repository, its tags, its catalog and its policy. */
export const REPOSITORY_HANDLER_ACTIONS: readonly string[] = [
  'ecr-public:CreateRepository', 'ecr-public:DeleteRepository', 'ecr-public:DescribeRepositories',
  'ecr-public:TagResource', 'ecr-public:UntagResource', 'ecr-public:ListTagsForResource',
  'ecr-public:PutRepositoryCatalogData', 'ecr-public:SetRepositoryPolicy', 'ecr-public:DeleteRepositoryPolicy',
];

/**
 * The actions that authenticate a client to the registry (pushes, and pulls that are not anonymous); IAM only accepts
 * them on `*`.
 */
export const AUTH_ACTIONS: readonly string[] = ['ecr-public:GetAuthorizationToken', 'sts:GetServiceBearerToken'];

/** The actions that read a repository's metadata: its images, tags, catalog data, policy and resource tags. */
export const READ_ACTIONS: readonly string[] = [
  'ecr-public:DescribeImages',
  'ecr-public:DescribeImageTags',
  'ecr-public:DescribeRepositories',
  'ecr-public:GetRepositoryCatalogData',
  'ecr-public:GetRepositoryPolicy',
  'ecr-public:ListTagsForResource',
];
