/** Handler of `Custom::EcrPublicRepositoryPolicy`: sets and removes the policy of an imported repository. */
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { PolicyProperties } from '../../src/shared/handler-contract';
import { customResourceHandler, DeleteEvent, HandlerResult } from '../shared/cfn-response';
import { withEcrPublicClient } from '../shared/ecr-public-client';
import { applyPolicy, deletePolicy } from '../shared/repository-policy';

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
  await applyPolicy(ecr, props.RepositoryName, props.PolicyText);
  return { physicalResourceId: physicalId(props) };
}

async function onDelete(ecr: ECRPUBLICClient, event: DeleteEvent<PolicyProperties>): Promise<HandlerResult> {
  const props = event.ResourceProperties;
  // A retained repository keeps the access it was given.
  if (props.RetainOnDelete === 'true') return { physicalResourceId: event.PhysicalResourceId };
  await deletePolicy(ecr, props.RepositoryName, true);
  return { physicalResourceId: event.PhysicalResourceId };
}

/** One policy per repository, so the repository's name identifies it. */
function physicalId(props: PolicyProperties): string {
  return `${props.RepositoryName}/policy`;
}
