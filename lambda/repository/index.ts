/** Handler of `Custom::EcrPublicRepository`: creates, tags, renames (by replacement) and deletes a public repository. */
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  Repository,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr-public';
import { RepositoryAttributes, RepositoryProperties } from '../../src/private/handler-contract';
import { CreateEvent, customResourceHandler, DeleteEvent, HandlerResult, UpdateEvent } from '../shared/cfn-response';
import { ecrPublicClient, isErrorNamed, withAdvice } from '../shared/ecr-public-client';

/** The Lambda entry point. */
export const handler = customResourceHandler<RepositoryProperties>(async (event) => {
  const ecr = ecrPublicClient();
  try {
    switch (event.RequestType) {
      case 'Create': return await onCreate(ecr, event);
      case 'Update': return await onUpdate(ecr, event);
      case 'Delete': return await onDelete(ecr, event);
    }
  } finally {
    ecr.destroy();
  }
});

async function onCreate(ecr: ECRPUBLICClient, event: CreateEvent<RepositoryProperties>): Promise<HandlerResult> {
  return createRepository(ecr, event.ResourceProperties);
}

async function onUpdate(ecr: ECRPUBLICClient, event: UpdateEvent<RepositoryProperties>): Promise<HandlerResult> {
  const props = event.ResourceProperties;
  // A repository cannot be renamed: create the new one; the new physical id makes CloudFormation delete the old.
  if (props.RepositoryName !== event.PhysicalResourceId) return createRepository(ecr, props);

  const name = event.PhysicalResourceId;
  const repository = await describeRepository(ecr, name);
  await syncTags(ecr, repository.repositoryArn!, event.OldResourceProperties.Tags ?? [], props.Tags ?? []);
  return { physicalResourceId: name, data: attributes(repository) };
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

async function createRepository(ecr: ECRPUBLICClient, props: RepositoryProperties): Promise<HandlerResult> {
  const name = props.RepositoryName;
  try {
    const out = await ecr.send(new CreateRepositoryCommand({
      repositoryName: name,
      // Sent only when there are tags: creating with tags also needs ecr-public:TagResource.
      tags: props.Tags && props.Tags.length > 0 ? props.Tags : undefined,
    }));
    return { physicalResourceId: name, data: attributes(out.repository!) };
  } catch (err) {
    if (isErrorNamed(err, 'RepositoryAlreadyExistsException')) {
      throw withAdvice(err, `The repository '${name}' already exists and was not created by this resource: `
        + `import it with PublicRepository.fromRepositoryName(this, 'Repository', '${name}'), or choose another repositoryName.`);
    }
    throw err;
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
  if (removed.length > 0) await ecr.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: removed }));
  if (desired.length > 0) await ecr.send(new TagResourceCommand({ resourceArn: arn, tags: [...desired] }));
}

function attributes(repository: Repository): Record<keyof RepositoryAttributes, string> {
  return {
    RepositoryName: repository.repositoryName!,
    RepositoryArn: repository.repositoryArn!,
    RepositoryUri: repository.repositoryUri!,
    RegistryId: repository.registryId!,
  };
}
