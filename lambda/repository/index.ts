/**
 * Handler of `Custom::EcrPublicRepository`: creates, tags, renames (by replacement) and deletes a public repository,
 * and keeps its catalog data and policy equal to the template's. One call per repository does it all, so that a stack
 * holds one resource per repository.
 */
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  ListTagsForResourceCommand,
  PutRepositoryCatalogDataCommand,
  Repository,
  RepositoryCatalogDataInput,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr-public';
import { RepositoryAttributes, RepositoryProperties } from '../../src/shared/handler-contract';
import { desiredCatalog, isEmptyCatalog } from '../shared/catalog-data';
import { CreateEvent, customResourceHandler, DeleteEvent, HandlerResult, UpdateEvent } from '../shared/cfn-response';
import { isErrorNamed, withAdvice, withEcrPublicClient } from '../shared/ecr-public-client';
import { log } from '../shared/log';
import { applyPolicy } from '../shared/repository-policy';

/** The Lambda entry point. */
export const handler = customResourceHandler<RepositoryProperties>((event) => withEcrPublicClient(async (ecr) => {
  switch (event.RequestType) {
    case 'Create': return onCreate(ecr, event);
    case 'Update': return onUpdate(ecr, event);
    case 'Delete': return onDelete(ecr, event);
  }
}));

async function onCreate(ecr: ECRPUBLICClient, event: CreateEvent<RepositoryProperties>): Promise<HandlerResult> {
  return createWithContents(ecr, event.ResourceProperties, event.RequestId);
}

async function onUpdate(ecr: ECRPUBLICClient, event: UpdateEvent<RepositoryProperties>): Promise<HandlerResult> {
  const props = event.ResourceProperties;
  // A repository cannot be renamed: create the new one; the new physical id makes CloudFormation delete the old.
  if (props.RepositoryName !== event.PhysicalResourceId) return createWithContents(ecr, props, event.RequestId);

  const name = event.PhysicalResourceId;
  // The full desired state, read before anything changes: a missing asset changes nothing.
  const catalog = await desiredCatalog(props);
  const repository = await describeRepository(ecr, name);
  await syncTags(ecr, repository.repositoryArn!, event.OldResourceProperties.Tags ?? [], props.Tags ?? []);
  const logoUrl = await putCatalog(ecr, name, catalog);
  await applyPolicy(ecr, name, props.PolicyText);
  return { physicalResourceId: name, data: attributes(repository, logoUrl) };
}

/**
 * Creates the repository with its catalog and policy. A new repository has neither, so empty ones cost no call. When
 * the catalog or the policy is refused, the repository this request created is deleted again before the failure is
 * reported: nothing half-made stays behind, and a retry does not meet a repository it cannot tell for its own. Unless a
 * delivery of the same request answered SUCCESS before (the marker says so): CloudFormation has that answer, and the
 * repository stays.
 */
async function createWithContents(ecr: ECRPUBLICClient, props: RepositoryProperties, requestId: string): Promise<HandlerResult> {
  const catalog = isEmptyCatalog(props) ? undefined : await desiredCatalog(props);
  const { repository, answered, markAnswered, afterResponse } = await createRepository(ecr, props, requestId);
  const name = repository.repositoryName!;
  try {
    const logoUrl = catalog ? await putCatalog(ecr, name, catalog) : '';
    if (props.PolicyText) await applyPolicy(ecr, name, props.PolicyText);
    await markAnswered();
    return { physicalResourceId: name, data: attributes(repository, logoUrl), afterResponse };
  } catch (err) {
    // A delivery of this request answered SUCCESS already (this one is a retry of a run that died after its answer):
    // the repository is the stack's now, and stays; the failure is reported, the first answer stands.
    if (answered) throw err;
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: name })).catch((cleanup: unknown) => {
      log({ warning: `could not delete the repository ${name} whose create failed`, error: String(cleanup) });
    });
    throw err;
  }
}

/** Puts the full catalog; returns the logo URL ('' without a logo). */
async function putCatalog(ecr: ECRPUBLICClient, name: string, catalog: RepositoryCatalogDataInput): Promise<string> {
  const out = await ecr.send(new PutRepositoryCatalogDataCommand({ repositoryName: name, catalogData: catalog }));
  return out.catalogData?.logoUrl ?? '';
}

async function onDelete(ecr: ECRPUBLICClient, event: DeleteEvent<RepositoryProperties>): Promise<HandlerResult> {
  const name = event.PhysicalResourceId;
  try {
    await ecr.send(new DeleteRepositoryCommand({
      repositoryName: name,
      force: event.ResourceProperties.EmptyOnDelete === 'true',
    }));
  } catch (err) {
    // Already gone (deleted by hand, or never created): the desired state is reached.
    if (isErrorNamed(err, 'RepositoryNotFoundException')) return { physicalResourceId: name };
    if (isErrorNamed(err, 'RepositoryNotEmptyException')) {
      throw withAdvice(err, `Set emptyOnDelete: true (with removalPolicy: RemovalPolicy.DESTROY) to delete the images of '${name}' with it, `
        + 'or removalPolicy: RemovalPolicy.RETAIN to keep the repository.');
    }
    throw err;
  }
  return { physicalResourceId: name };
}

/**
 * Marks a repository with the request that creates it, until CloudFormation has the response: when the answer to
 * CreateRepository is lost and the SDK sends it again, or the whole request is sent again because its response never
 * arrived (a deployer killed midway re-sends it under the same RequestId), the retry meets
 * RepositoryAlreadyExistsException, and this tag tells our own repository from somebody else's.
 */
const CREATE_MARKER_KEY = 'cdk-ecr-public:create-request';
/** The service's limit on tags per repository: the marker is left out when the user's tags fill it. */
const MAX_TAGS = 50;

/**
 * The marker's value once the repository has its contents and the SUCCESS answer is about to be sent: a delivery of
 * the same request that meets it must not delete the repository when it fails, as CloudFormation has the answer.
 */
const ANSWERED_SUFFIX = '/answered';

/** The repository created (or recognised as this request's), and what to do once the response is delivered. */
interface Created {
  readonly repository: Repository;
  /** Whether an earlier delivery of this request got as far as its SUCCESS answer. */
  readonly answered: boolean;
  /** Records, on the marker, that this request's SUCCESS answer is about to be sent. */
  readonly markAnswered: () => Promise<void>;
  readonly afterResponse?: () => Promise<void>;
}

async function createRepository(ecr: ECRPUBLICClient, props: RepositoryProperties, requestId: string): Promise<Created> {
  const name = props.RepositoryName;
  const tags = [...(props.Tags ?? [])];
  const marker = tags.length < MAX_TAGS ? { Key: CREATE_MARKER_KEY, Value: requestId } : undefined;
  let repository: Repository;
  let answered = false;
  try {
    const out = await ecr.send(new CreateRepositoryCommand({
      repositoryName: name,
      // Creating with tags also needs ecr-public:TagResource, which the handler has.
      tags: marker ? [...tags, marker] : tags.length > 0 ? tags : undefined,
    }));
    repository = out.repository!;
  } catch (err) {
    if (!isErrorNamed(err, 'RepositoryAlreadyExistsException')) throw err;
    const existing = marker ? await describeRepository(ecr, name) : undefined;
    const markerValue = existing && (await ecr.send(new ListTagsForResourceCommand({ resourceArn: existing.repositoryArn! })))
      .tags?.find((t) => t.Key === CREATE_MARKER_KEY)?.Value;
    const ours = markerValue === requestId || markerValue === `${requestId}${ANSWERED_SUFFIX}`;
    answered = markerValue === `${requestId}${ANSWERED_SUFFIX}`;
    if (!existing || !ours) {
      throw withAdvice(err, `The repository '${name}' already exists and was not created by this resource: `
        + `import it with PublicRepository.fromRepositoryName(this, 'Repository', '${name}'), or choose another repositoryName.`);
    }
    repository = existing;
  }
  const arn = repository.repositoryArn!;
  return {
    repository,
    answered,
    markAnswered: async () => {
      if (marker && !answered) {
        await ecr.send(new TagResourceCommand({ resourceArn: arn, tags: [{ Key: CREATE_MARKER_KEY, Value: `${requestId}${ANSWERED_SUFFIX}` }] }));
      }
    },
    // Only once the response is delivered: removed earlier, a re-sent request could no longer recognise the repository.
    afterResponse: marker ? () => removeMarker(arn) : undefined,
  };
}

/**
 * Best effort, with a client of its own (the request's is closed by then): a marker left behind is a harmless extra
 * tag, while failing here would orphan a created repository.
 */
async function removeMarker(arn: string): Promise<void> {
  try {
    await withEcrPublicClient((ecr) => ecr.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: [CREATE_MARKER_KEY] })));
  } catch (err) {
    log({ warning: `could not remove the tag ${CREATE_MARKER_KEY} from ${arn}`, error: String(err) });
  }
}

async function describeRepository(ecr: ECRPUBLICClient, name: string): Promise<Repository> {
  const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
  const repository = out.repositories?.[0];
  if (!repository) throw new Error(`DescribeRepositories returned no repository named '${name}'`);
  return repository;
}

/**
 * Makes the tags CloudFormation manages equal `desired`: keys that left the template are removed, the rest is (re)set.
 * Tags added outside the stack under other keys are left alone, as CloudFormation does for its own resources.
 */
async function syncTags(
  ecr: ECRPUBLICClient,
  arn: string,
  previous: ReadonlyArray<{ Key: string; Value: string }>,
  desired: ReadonlyArray<{ Key: string; Value: string }>,
): Promise<void> {
  const desiredKeys = new Set(desired.map((t) => t.Key));
  const removed = previous.map((t) => t.Key).filter((k) => !desiredKeys.has(k));
  const untag = async () => {
    if (removed.length > 0) await ecr.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: removed }));
  };
  const tag = async () => {
    if (desired.length > 0) await ecr.send(new TagResourceCommand({ resourceArn: arn, tags: [...desired] }));
  };
  // Setting first means a refused tag (a bad key, say) changes nothing; removing first is needed only when the old and
  // new keys together would pass the 50-tag limit.
  const together = new Set([...previous.map((t) => t.Key), ...desiredKeys]).size;
  if (together > MAX_TAGS) {
    await untag();
    await tag();
  } else {
    await tag();
    await untag();
  }
}

function attributes(repository: Repository, logoUrl: string): Record<keyof RepositoryAttributes, string> {
  return {
    // Always present, so that Fn::GetAtt LogoUrl resolves (to an empty string) on a repository without a logo.
    LogoUrl: logoUrl,
    RepositoryName: repository.repositoryName!,
    RepositoryArn: repository.repositoryArn!,
    RepositoryUri: repository.repositoryUri!,
    RegistryId: repository.registryId!,
  };
}
