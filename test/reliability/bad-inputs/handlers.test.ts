/**
 * Bad inputs that reach the handlers at deploy (CloudFormation passes them) and that the API refuses. Each case is
 * refused with its cause and changes nothing (`expectRefusedAndUnchanged` in world.ts).
 */
import { BadInput, BASE, baseCatalog, baseTags, catalogUpdate, deployFailure, describeBadInputs, h, policyUpdate, repoEvent, setUpWorld, statement } from './world';
import { handler as registryHandler } from '../../../lambda/registry';
import { handler as repositoryHandler } from '../../../lambda/repository';
import { handler as catalogHandler } from '../../../lambda/repository-catalog-data';
import { handler as policyHandler } from '../../../lambda/repository-policy';
import { CatalogDataProperties, RegistryProperties, RepositoryProperties, RESOURCE_TYPES } from '../../../src/shared/handler-contract';
import { uniqueName } from '../../support/ecr-fixtures';
import { createEvent, updateEvent } from '../../support/handler-harness';
setUpWorld({ images: true });

const CATALOGUE: Array<[string, BadInput]> = [
  // --- Invalid values reaching the handlers at deploy (CloudFormation passes them): the API refuses them ----------
  ['deploy: repository name with an underscore at the end', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, repoEvent({ RepositoryName: 'acme_' })),
    cause: /^InvalidParameterException: Invalid parameter at 'repositoryName' failed to satisfy constraint/,
  }],
  ['deploy: repository name of 206 characters', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, repoEvent({ RepositoryName: 'x'.repeat(206) })),
    cause: /^InvalidParameterException: Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must have length less than or equal to 205'/,
  }],
  ['deploy: a repository that already exists (not created by this resource)', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, repoEvent({ RepositoryName: BASE })),
    cause: () => new RegExp(`^RepositoryAlreadyExistsException: .*'${BASE}' already exists and was not created by this resource: import it`),
  }],
  ['deploy: a tag key with the reserved aws: prefix', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, repoEvent({ RepositoryName: uniqueName('rel-bad'), Tags: [{ Key: 'aws:owner', Value: 'me' }] })),
    cause: /^InvalidTagParameterException: Tag key 'aws:owner' uses the reserved prefix 'aws:'/,
  }],
  ['deploy: a tag value of 257 characters', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, repoEvent({ RepositoryName: uniqueName('rel-bad'), Tags: [{ Key: 'owner', Value: 'v'.repeat(257) }] })),
    cause: /^InvalidTagParameterException: Tag value for key 'owner' must be at most 256 characters/,
  }],
  ['deploy: 51 tags', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, repoEvent({ RepositoryName: uniqueName('rel-bad'), Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) })),
    cause: /^TooManyTagsException: A repository can have at most 50 tags; this request would leave 51/,
  }],
  ['deploy: an update of the repository adding a tag key of 129 characters', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, updateEvent<RepositoryProperties>(h, RESOURCE_TYPES.repository, BASE,
      { RepositoryName: BASE, Tags: [...baseTags, { Key: 'k'.repeat(129), Value: 'v' }] }, { RepositoryName: BASE, Tags: baseTags })),
    cause: /^InvalidTagParameterException: Tag key at tags\[2\] must be 1 to 128 characters/,
  }],
  ['deploy: catalog description of 1,025 characters', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ Description: 'd'.repeat(1025) })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.description' failed to satisfy constraint: 'must have length less than or equal to 1024'/,
  }],
  ['deploy: catalog about text of 25,601 characters', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ AboutText: 'a'.repeat(25_601) })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.aboutText'/,
  }],
  ['deploy: catalog usage text of 25,601 characters', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ UsageText: 'u'.repeat(25_601) })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.usageText'/,
  }],
  ['deploy: 51 catalog architectures', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ Architectures: Array.from({ length: 51 }, (_, i) => `a${i}`) })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.architectures'/,
  }],
  ['deploy: an empty operating-system value', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ OperatingSystems: ['Linux', ''] })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.operatingSystems\[1\]'/,
  }],
  ['deploy: an architecture value of 51 characters', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ Architectures: ['x'.repeat(51)] })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.architectures\[0\]'/,
  }],
  ['deploy: a GIF logo in the asset bucket', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ LogoKey: 'logo.gif' })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.logoImageBlob' failed to satisfy constraint: 'must be a PNG or JPEG image'/,
  }],
  ['deploy: a logo of more than 512,000 bytes in the asset bucket', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ LogoKey: 'logo-big.png' })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.logoImageBlob'/,
  }],
  ['deploy: a logo key that names no object', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ LogoKey: 'no-such-logo.png' })),
    cause: /^NoSuchKey: /,
  }],
  ['deploy: a logo bucket without a key', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ LogoKey: undefined })),
    cause: /LogoBucket and LogoKey go together \(got LogoBucket 'assets', LogoKey ''\)/,
  }],
  ['deploy: catalog data of a repository that does not exist', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, createEvent<CatalogDataProperties>(h, RESOURCE_TYPES.catalogData, { ...baseCatalog, RepositoryName: 'rel/nowhere' })),
    cause: /^RepositoryNotFoundException: .*rel\/nowhere/,
  }],
  ['deploy: a policy that is not JSON', {
    at: 'deploy',
    act: () => deployFailure(policyHandler, policyUpdate('{"Statement": [')),
    cause: /^InvalidParameterException: .*'policyText'.*Invalid repository policy provided: not valid JSON/,
  }],
  ['deploy: a policy without a statement', {
    at: 'deploy',
    act: () => deployFailure(policyHandler, policyUpdate(JSON.stringify({ Version: '2012-10-17', Statement: [] }))),
    cause: /Invalid repository policy provided: no Statement/,
  }],
  ['deploy: a policy statement without a principal', {
    at: 'deploy',
    act: () => deployFailure(policyHandler, policyUpdate(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'ecr-public:PutImage' }] }))),
    cause: /Invalid repository policy provided: Statement\[0\] has no Principal/,
  }],
  ['deploy: a policy Effect that is neither Allow nor Deny', {
    at: 'deploy',
    act: () => deployFailure(policyHandler, policyUpdate(JSON.stringify({ Statement: [{ ...statement, Effect: 'Maybe' }] }))),
    cause: /Invalid repository policy provided: Statement\[0\]\.Effect must be Allow or Deny/,
  }],
  ['deploy: a policy of 10,241 characters', {
    at: 'deploy',
    act: () => {
      const text = JSON.stringify({ Statement: [statement], Padding: '' });
      return deployFailure(policyHandler, policyUpdate(text.replace('"Padding":""', `"Padding":"${'p'.repeat(10_241 - text.length)}"`)));
    },
    cause: /^InvalidParameterException: Invalid parameter at 'policyText' failed to satisfy constraint: 'must have length less than or equal to 10240'/,
  }],
  ['deploy: a registry display name of 101 characters', {
    at: 'deploy',
    act: () => deployFailure(registryHandler, updateEvent<RegistryProperties>(h, RESOURCE_TYPES.registry, h.accountId, { DisplayName: 'n'.repeat(101) }, { DisplayName: 'Baseline' })),
    cause: /^InvalidParameterException: Invalid parameter at 'displayName'/,
  }],
];

describeBadInputs('at deploy, by the handlers and the API', CATALOGUE, 24);
