/**
 * The registry's pulls (`GET`/`HEAD` of manifests, blobs and tag lists, and the `/v2/` ping), anonymous, so that skopeo
 * and other registry clients can pull what was pushed. Routed from `routes.ts`.
 */
import * as fs from 'fs';
import { decodeSegment } from '../http';
import { authChallenge, refuseInvalidCredentials } from './credentials';
import { RegistryError } from './errors';
import { findNamedRepository } from './repositories';
import { sendBlob, sendManifest, sendRegistryJson } from './responses';
import type { RegistryCall } from './routes';

/**
 * `GET /v2/`: 200 for anonymous pulls. The challenge tells clients that read it from the ping (containers/image:
 * skopeo, podman, buildah) to send credentials, which pushes need; credentials that are sent must be good.
 */
export function ping({ ctx, req, res }: RegistryCall): void {
  refuseInvalidCredentials(ctx, req);
  sendRegistryJson(res, 200, {}, { 'WWW-Authenticate': authChallenge(ctx) });
}

/** `GET /v2/<name>/tags/list`, with distribution's `n` and `last`. */
export function listTags({ ctx, res, url, params: [name] }: RegistryCall): void {
  const repo = findNamedRepository(ctx, name, 'pull');
  let tags = Object.keys(repo.imageTags).sort();
  const last = url.searchParams.get('last');
  if (last !== null) tags = tags.filter((t) => t > last);
  const n = url.searchParams.get('n');
  if (n !== null && Number(n) >= 0) tags = tags.slice(0, Number(n));
  sendRegistryJson(res, 200, { name, tags });
}

/** `GET /v2/<name>/manifests/<tag or digest>`: the exact bytes that were pushed. */
export function getManifest({ ctx, req, res, params: [name, segment] }: RegistryCall): void {
  const repo = findNamedRepository(ctx, name, 'pull');
  const reference = decodeSegment(segment);
  if (reference === undefined) throw new RegistryError('MANIFEST_INVALID', `malformed percent-encoding in '${segment}'`);
  const digest = reference.includes(':') ? reference : repo.imageTags[reference]?.digest;
  const image = digest ? repo.images[digest] : undefined;
  if (!image) throw new RegistryError('MANIFEST_UNKNOWN', `manifest unknown: ${reference}`);
  sendManifest(req, res, ctx.store.readManifest(image.digest), image.manifestMediaType, image.digest);
}

/** `GET /v2/<name>/blobs/<digest>`: a blob of the repository, with Range. */
export function getBlob({ ctx, req, res, params: [name, segment] }: RegistryCall): void {
  const repo = findNamedRepository(ctx, name, 'pull');
  const digest = decodeSegment(segment);
  if (digest === undefined) throw new RegistryError('DIGEST_INVALID', `malformed percent-encoding in '${segment}'`);
  const blob = repo.blobs[digest];
  const file = ctx.store.blobPath(digest);
  if (!blob || !fs.existsSync(file)) throw new RegistryError('BLOB_UNKNOWN', `blob unknown to registry: ${digest}`);
  sendBlob(req, res, file, blob.size, { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest });
}
