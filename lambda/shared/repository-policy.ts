/** Setting and removing a repository's policy, as the handlers do it. Shared by the repository and policy handlers. */
import { DeleteRepositoryPolicyCommand, ECRPUBLICClient, SetRepositoryPolicyCommand } from '@aws-sdk/client-ecr-public';
import { isErrorNamed } from './ecr-public-client';

/**
 * Makes the repository's policy `policyText`. SetRepositoryPolicy replaces the whole policy; an empty or absent text
 * means no policy: a repository whose last statement left the app loses the access it gave.
 */
export async function applyPolicy(ecr: ECRPUBLICClient, repositoryName: string, policyText: string | undefined): Promise<void> {
  if (policyText === undefined || policyText === '') {
    await deletePolicy(ecr, repositoryName, false);
  } else {
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName, policyText }));
  }
}

/** Removes the policy; none there is fine, and so is no repository when `repositoryMayBeGone`. */
export async function deletePolicy(ecr: ECRPUBLICClient, repositoryName: string, repositoryMayBeGone: boolean): Promise<void> {
  try {
    await ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName }));
  } catch (err) {
    if (isErrorNamed(err, 'RepositoryPolicyNotFoundException')) return;
    if (repositoryMayBeGone && isErrorNamed(err, 'RepositoryNotFoundException')) return;
    throw err;
  }
}
