/** Handler of `Custom::EcrPublicRepositoryPolicy`: sets and removes a repository's policy. */
import {
  DeleteRepositoryPolicyCommand,
  ECRPUBLICClient,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr-public';
import { PolicyProperties } from '../../src/private/handler-contract';
import { customResourceHandler, DeleteEvent, HandlerResult } from '../shared/cfn-response';
import { isErrorNamed, withEcrPublicClient } from '../shared/ecr-public-client';

/** The Lambda entry point. */
export const handler = customResourceHandler<PolicyProperties>((event) => withEcrPublicClient(async (ecr) => {
  switch (event.RequestType) {
    case 'Create':
    case 'Update':
      return onCreateOrUpdate(ecr, event.ResourceProperties);
    case 'Delete':
      return onDelete(ecr, event);
  }
}));

/**
 * SetRepositoryPolicy replaces the whole policy, so Create and Update are the same call. An empty PolicyText means no
 * policy: a repository whose last statement left the app loses the access it gave.
 */
async function onCreateOrUpdate(ecr: ECRPUBLICClient, props: PolicyProperties): Promise<HandlerResult> {
  if (props.PolicyText === '' || props.PolicyText === undefined) {
    await deletePolicy(ecr, props.RepositoryName, false);
  } else {
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: props.RepositoryName, policyText: props.PolicyText }));
  }
  return { physicalResourceId: physicalId(props) };
}

async function onDelete(ecr: ECRPUBLICClient, event: DeleteEvent<PolicyProperties>): Promise<HandlerResult> {
  const props = event.ResourceProperties;
  // A retained repository keeps the access it was given.
  if (props.RetainOnDelete === 'true') return { physicalResourceId: event.PhysicalResourceId };
  await deletePolicy(ecr, props.RepositoryName, true);
  return { physicalResourceId: event.PhysicalResourceId };
}

/** Removes the policy; none there is fine, and so is no repository when the resource itself is being deleted. */
async function deletePolicy(ecr: ECRPUBLICClient, repositoryName: string, repositoryMayBeGone: boolean): Promise<void> {
  try {
    await ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName }));
  } catch (err) {
    if (isErrorNamed(err, 'RepositoryPolicyNotFoundException')) return;
    if (repositoryMayBeGone && isErrorNamed(err, 'RepositoryNotFoundException')) return;
    throw err;
  }
}

/** One policy per repository, so the repository's name identifies it. */
function physicalId(props: PolicyProperties): string {
  return `${props.RepositoryName}/policy`;
}
