/**
 * `GET /v2/<name>/referrers/<digest>` (OCI distribution 1.1): an image index of the manifests whose `subject` is the
 * digest, 200 with an empty index for a digest nothing refers to, and the `artifactType` filter, which the answer
 * says it applied (`OCI-Filters-Applied`). Anonymous, as pulls are. Routed from `routes.ts`.
 */
import { decodeSegment } from '../http';
import { RegistryError } from './errors';
import { findNamedRepository } from './repositories';
import { sendRegistryJson } from './responses';
import type { RegistryCall } from './routes';
import { listReferrers } from '../service/referrers';
import { isWellFormedLayerDigest, OCI_INDEX } from '../store/image-format';

export function getReferrers({ ctx, res, url, params: [name, segment] }: RegistryCall): void {
  const repo = findNamedRepository(ctx, name, 'pull');
  const digest = decodeSegment(segment);
  if (digest === undefined || !isWellFormedLayerDigest(digest)) {
    throw new RegistryError('DIGEST_INVALID', `'${segment}' is not a digest (algorithm:hex)`);
  }
  const types = url.searchParams.getAll('artifactType');
  const all = listReferrers(ctx, repo, digest);
  const manifests = types.length === 0 ? all : all.filter((r) => r.artifactType !== undefined && types.includes(r.artifactType));
  // Listed whole: the spec's pagination (`Link`) is optional, and ECR Public's page size is not documented.
  sendRegistryJson(res, 200, { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, {
    'Content-Type': OCI_INDEX,
    ...(types.length > 0 ? { 'OCI-Filters-Applied': 'artifactType' } : {}),
  });
}
