/** The operation table: the single list of what the emulator answers. An operation not here is refused by name. */
import { getRepositoryCatalogData, putRepositoryCatalogData } from './catalog-data';
import { Operation } from './context';
import { batchDeleteImage, describeImages, describeImageTags, putImage } from './images';
import { batchCheckLayerAvailability, completeLayerUpload, initiateLayerUpload, uploadLayerPart } from './layers';
import { deleteRepositoryPolicy, getRepositoryPolicy, setRepositoryPolicy } from './policies';
import { describeRegistries, getAuthorizationToken, getRegistryCatalogData, putRegistryCatalogData } from './public-registry';
import { createRepository, deleteRepository, describeRepositories } from './repositories';
import { listTagsForResource, tagResource, untagResource } from './tags';

export const OPERATIONS: Readonly<Record<string, Operation>> = {
  BatchCheckLayerAvailability: batchCheckLayerAvailability,
  BatchDeleteImage: batchDeleteImage,
  CompleteLayerUpload: completeLayerUpload,
  CreateRepository: createRepository,
  DeleteRepository: deleteRepository,
  DeleteRepositoryPolicy: deleteRepositoryPolicy,
  DescribeImageTags: describeImageTags,
  DescribeImages: describeImages,
  DescribeRegistries: describeRegistries,
  DescribeRepositories: describeRepositories,
  GetAuthorizationToken: getAuthorizationToken,
  GetRegistryCatalogData: getRegistryCatalogData,
  GetRepositoryCatalogData: getRepositoryCatalogData,
  GetRepositoryPolicy: getRepositoryPolicy,
  InitiateLayerUpload: initiateLayerUpload,
  ListTagsForResource: listTagsForResource,
  PutImage: putImage,
  PutRegistryCatalogData: putRegistryCatalogData,
  PutRepositoryCatalogData: putRepositoryCatalogData,
  SetRepositoryPolicy: setRepositoryPolicy,
  TagResource: tagResource,
  UntagResource: untagResource,
  UploadLayerPart: uploadLayerPart,
};
