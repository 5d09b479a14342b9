/**
 * Input shapes of the 23 ECR Public operations, transcribed from the service model (botocore
 * `ecr-public/2020-10-30/service-2.json`). Tag keys and values carry no length rules here: the service reports those as
 * InvalidTagParameterException, which the tag checks raise.
 */
import { Shape } from './validation';
import { IMAGE_TAG_PATTERN, LAYER_DIGEST_PATTERN } from '../store/image-format';

export const REPOSITORY_NAME_PATTERN = /(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*/;
export const UPLOAD_ID_PATTERN = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;

const repositoryName: Shape = { type: 'string', min: 2, max: 205, pattern: REPOSITORY_NAME_PATTERN };
const registryId: Shape = { type: 'string', pattern: /[0-9]{12}/ };
const registryIdOrAlias: Shape = { type: 'string', min: 2, max: 50 };
const nextToken: Shape = { type: 'string' };
const maxResults: Shape = { type: 'integer', min: 1, max: 1000 };
const partByte: Shape = { type: 'integer', min: 0 };
const imageTag: Shape = { type: 'string', min: 1, max: 300 };
/** A tag PutImage stores: one the registry API can serve (see `IMAGE_TAG_PATTERN`). */
const storedImageTag: Shape = { ...imageTag, pattern: IMAGE_TAG_PATTERN };
const arn: Shape = { type: 'string', min: 1, max: 2048 };
const tagList: Shape = {
  type: 'list',
  min: 0,
  max: 200,
  member: { type: 'structure', members: { Key: { type: 'string' }, Value: { type: 'string' } } },
};
const imageIdentifierList: Shape = {
  type: 'list',
  min: 1,
  max: 100,
  member: { type: 'structure', members: { imageDigest: { type: 'string' }, imageTag } },
};
const catalogDataInput: Shape = {
  type: 'structure',
  members: {
    description: { type: 'string', min: 0, max: 1024 },
    architectures: { type: 'list', min: 0, max: 50, member: { type: 'string', min: 1, max: 50 } },
    operatingSystems: { type: 'list', min: 0, max: 50, member: { type: 'string', min: 1, max: 50 } },
    logoImageBlob: { type: 'blob', min: 0, max: 512_000 },
    aboutText: { type: 'string', min: 0, max: 25_600 },
    usageText: { type: 'string', min: 0, max: 25_600 },
  },
};

function input(members: Record<string, Shape>, required: string[] = []): Shape {
  return { type: 'structure', members, required };
}

/** The operation table: every supported operation and its input shape. Anything else is an unknown operation. */
export const OPERATION_INPUTS: Readonly<Record<string, Shape>> = {
  GetAuthorizationToken: input({}),
  CreateRepository: input({ repositoryName, catalogData: catalogDataInput, tags: tagList }, ['repositoryName']),
  DeleteRepository: input({ registryId, repositoryName, force: { type: 'boolean' } }, ['repositoryName']),
  DescribeRepositories: input({
    registryId,
    repositoryNames: { type: 'list', min: 1, max: 100, member: repositoryName },
    nextToken,
    maxResults,
  }),
  GetRepositoryCatalogData: input({ registryId, repositoryName }, ['repositoryName']),
  PutRepositoryCatalogData: input({ registryId, repositoryName, catalogData: catalogDataInput }, ['repositoryName', 'catalogData']),
  GetRegistryCatalogData: input({}),
  PutRegistryCatalogData: input({ displayName: { type: 'string', min: 0, max: 100 } }),
  DescribeRegistries: input({ nextToken, maxResults }),
  SetRepositoryPolicy: input({
    registryId, repositoryName, policyText: { type: 'string', min: 0, max: 10_240 }, force: { type: 'boolean' },
  }, ['repositoryName', 'policyText']),
  GetRepositoryPolicy: input({ registryId, repositoryName }, ['repositoryName']),
  DeleteRepositoryPolicy: input({ registryId, repositoryName }, ['repositoryName']),
  BatchCheckLayerAvailability: input({
    registryId: registryIdOrAlias,
    repositoryName,
    layerDigests: { type: 'list', min: 1, max: 100, member: { type: 'string', min: 0, max: 1000 } },
  }, ['repositoryName', 'layerDigests']),
  InitiateLayerUpload: input({ registryId: registryIdOrAlias, repositoryName }, ['repositoryName']),
  UploadLayerPart: input({
    registryId: registryIdOrAlias,
    repositoryName,
    uploadId: { type: 'string', pattern: UPLOAD_ID_PATTERN },
    partFirstByte: partByte,
    partLastByte: partByte,
    layerPartBlob: { type: 'blob', min: 0, max: 20_971_520 },
  }, ['repositoryName', 'uploadId', 'partFirstByte', 'partLastByte', 'layerPartBlob']),
  CompleteLayerUpload: input({
    registryId: registryIdOrAlias,
    repositoryName,
    uploadId: { type: 'string', pattern: UPLOAD_ID_PATTERN },
    layerDigests: { type: 'list', min: 1, max: 100, member: { type: 'string', pattern: LAYER_DIGEST_PATTERN } },
  }, ['repositoryName', 'uploadId', 'layerDigests']),
  PutImage: input({
    registryId: registryIdOrAlias,
    repositoryName,
    imageManifest: { type: 'string', min: 1, max: 4_194_304 },
    imageManifestMediaType: { type: 'string' },
    imageTag: storedImageTag,
    imageDigest: { type: 'string' },
  }, ['repositoryName', 'imageManifest']),
  DescribeImages: input({ registryId, repositoryName, imageIds: imageIdentifierList, nextToken, maxResults }, ['repositoryName']),
  DescribeImageTags: input({ registryId, repositoryName, nextToken, maxResults }, ['repositoryName']),
  BatchDeleteImage: input({ registryId: registryIdOrAlias, repositoryName, imageIds: imageIdentifierList }, ['repositoryName', 'imageIds']),
  TagResource: input({ resourceArn: arn, tags: tagList }, ['resourceArn', 'tags']),
  UntagResource: input({
    resourceArn: arn,
    tagKeys: { type: 'list', min: 0, max: 200, member: { type: 'string' } },
  }, ['resourceArn', 'tagKeys']),
  ListTagsForResource: input({ resourceArn: arn }, ['resourceArn']),
};
