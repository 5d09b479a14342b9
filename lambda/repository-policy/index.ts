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

/** SetRepositoryPolicy replaces the whole policy, so Create and Update are the same call. */
async function onCreateOrUpdate(ecr: ECRPUBLICClient, props: PolicyProperties): Promise<HandlerResult> {
  await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: props.RepositoryName, policyText: props.PolicyText }));
  return { physicalResourceId: physicalId(props) };
}

async function onDelete(ecr: ECRPUBLICClient, event: DeleteEvent<PolicyProperties>): Promise<HandlerResult> {
  const props = event.ResourceProperties;
  // A retained repository keeps the access it was given.
  if (props.RetainOnDelete === 'true') return { physicalResourceId: event.PhysicalResourceId };
  try {
    await ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: props.RepositoryName }));
  } catch (err) {
    // Either way there is no policy left, which is what a delete wants.
    if (!isErrorNamed(err, 'RepositoryNotFoundException') && !isErrorNamed(err, 'RepositoryPolicyNotFoundException')) throw err;
  }
  return { physicalResourceId: event.PhysicalResourceId };
}

/** One policy per repository, so the repository's name identifies it. */
function physicalId(props: PolicyProperties): string {
  return `${props.RepositoryName}/policy`;
}
