/**
 * The registry's pushes (`/v2/<alias>/<repositoryName>/blobs/uploads/...`, `PUT .../manifests/<reference>`), so that
 * registry clients (skopeo, podman, buildah) can push as they push to public.ecr.aws. Routed from `routes.ts`, which
 * checks the credentials first.
 *
 * Everything a push changes goes through the same functions as the ECR Public API's push operations
 * (`service/layers.ts`, `service/images.ts`), so the two paths keep the same rules: uploads and blobs
 * belong to one repository, bytes arrive in order, the digest of a blob is checked against the sha256 computed as it
 * arrived, a manifest's config and layers must be blobs of the repository and an index's children images of it, the
 * digest of a manifest is the sha256 of its exact bytes, and a tag moves.
 *
 * Request bodies are received into a temporary file first; the checks and the change to the state then run
 * synchronously, so that a push never interleaves with another request's change. Each handler refuses early, from the
 * headers, what is known to fail (an unknown repository or upload) before a body is read; everything that changes the
 * state then looks the repository and the upload up again, in the same synchronous step as the change.
 */
import * as fs from 'fs';
import { asRegistry, RegistryError } from './errors';
import { findNamedRepository } from './repositories';
import { sendEmpty } from './responses';
import type { RegistryCall } from './routes';
import { decodeSegment, discardBody, isEmptyBody, receiveBodyToFile, ReceivedBody } from '../http';
import { Context } from '../service/context';
import { storeImage } from '../service/images';
import {
  cancelUpload, checkLayerSize, checkPartStart, completeUpload, findUpload, layerTooLarge, MAX_LAYER_BYTES, recordPart, startUpload,
} from '../service/layers';
import { IMAGE_TAG_PATTERN, isStorableTag, isWellFormedLayerDigest } from '../store/image-format';
import { has, RepositoryRecord, UploadRecord } from '../store/model';

/** PutImage's `imageManifest` limit (4,194,304 characters), as bytes. */
const MAX_MANIFEST_BYTES = 4_194_304;

/**
 * `POST .../blobs/uploads/`: a new upload (202), or with `?digest=` a monolithic upload (201), which only starts
 * once its body is in, so that nothing is left behind whatever goes wrong.
 */
export async function postUpload({ ctx, req, res, url, params: [name] }: RegistryCall): Promise<void> {
  const repo = findNamedRepository(ctx, name, 'push');
  const digests = url.searchParams.getAll('digest');
  if (digests.length === 0) {
    // `?mount=<digest>&from=<name>` starts an ordinary upload too: ECR does not mount blobs across repositories.
    if (!isEmptyBody(req)) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'a POST without ?digest= starts an upload and carries no body');
    }
    const upload = startUpload(ctx, findNamedRepository(ctx, name, 'push'));
    sendEmpty(res, 202, uploadHeaders(name, upload));
    return discardBody(req);
  }
  const body = await receiveBodyToFile(req, ctx.store.tempPath(), MAX_LAYER_BYTES);
  return withBody(body, layerTooLarge, (file, length) => {
    const upload = startUpload(ctx, findNamedRepository(ctx, name, 'push', repo));
    try {
      append(ctx, name, repo, upload.id, file, length, undefined);
      sendEmpty(res, 201, blobHeaders(name, complete(ctx, name, repo, upload.id, digests)));
    } finally {
      // The client never learnt this upload's URL: whatever went wrong, it cannot continue it.
      const left = has(ctx.store.state.uploads, upload.id) ? ctx.store.state.uploads[upload.id] : undefined;
      if (left) cancelUpload(ctx, left);
    }
  });
}

/** `PATCH .../blobs/uploads/<id>`: a chunk (202, with where the upload now stands). */
export async function patchUpload(call: RegistryCall): Promise<void> {
  const { ctx, req, res, params: [name] } = call;
  const { repo, id } = refuseUnknownUpload(call);
  const body = await receiveBodyToFile(req, ctx.store.tempPath(), MAX_LAYER_BYTES);
  return withBody(body, layerTooLarge, (file, length) => {
    sendEmpty(res, 202, uploadHeaders(name, append(ctx, name, repo, id, file, length, req.headers['content-range'])));
  });
}

/** `PUT .../blobs/uploads/<id>?digest=`: the last chunk (possibly empty), then completion (201). */
export async function putUpload(call: RegistryCall): Promise<void> {
  const { ctx, req, res, url, params: [name] } = call;
  const { repo, id } = refuseUnknownUpload(call);
  const body = await receiveBodyToFile(req, ctx.store.tempPath(), MAX_LAYER_BYTES);
  return withBody(body, layerTooLarge, (file, length) => {
    append(ctx, name, repo, id, file, length, req.headers['content-range']);
    sendEmpty(res, 201, blobHeaders(name, complete(ctx, name, repo, id, url.searchParams.getAll('digest'))));
  });
}

/** `GET`/`HEAD .../blobs/uploads/<id>`: where the upload stands (204). */
export function getUpload(call: RegistryCall): void {
  sendEmpty(call.res, 204, uploadHeaders(call.params[0], refuseUnknownUpload(call).upload));
  discardBody(call.req);
}

/** `DELETE .../blobs/uploads/<id>`: the upload ends, its bytes go (204). */
export function deleteUpload(call: RegistryCall): void {
  cancelUpload(call.ctx, refuseUnknownUpload(call).upload);
  sendEmpty(call.res, 204, {});
  discardBody(call.req);
}

/** Any other method on an upload URL. */
export function refuseOnUpload(call: RegistryCall): never {
  findNamedRepository(call.ctx, call.params[0], 'push');
  throw unsupported(`${call.req.method} is not supported on an upload`);
}

/**
 * `PUT .../manifests/<tag or digest>`: PutImage's rules; pushing what is already there succeeds. The body is
 * received to a file, then read, checked and stored in one step with the repository's lookup.
 */
export async function putManifest({ ctx, req, res, params: [name, segment] }: RegistryCall): Promise<void> {
  const repo = findNamedRepository(ctx, name, 'push');
  const reference = decodeSegment(segment);
  if (reference === undefined) throw new RegistryError('TAG_INVALID', `malformed percent-encoding in the reference '${segment}'`);
  const byDigest = reference.includes(':');
  if (!byDigest && !isStorableTag(reference)) {
    throw new RegistryError('TAG_INVALID', `'${reference}' is not a valid tag: ${IMAGE_TAG_PATTERN.source}`);
  }
  const body = await receiveBodyToFile(req, ctx.store.tempPath(), MAX_MANIFEST_BYTES);
  const contentType = req.headers['content-type']?.split(';')[0].trim();
  const tooLarge = () => new RegistryError('SIZE_INVALID', `a manifest can be at most ${MAX_MANIFEST_BYTES} bytes`);
  return withBody(body, tooLarge, (file) => {
    const bytes = fs.readFileSync(file);
    const stored = asRegistry(() => storeImage(ctx, findNamedRepository(ctx, name, 'push', repo), {
      bytes,
      mediaType: contentType === '' ? undefined : contentType,
      mediaTypeMember: 'Content-Type',
      tag: byDigest ? undefined : reference,
      digest: byDigest ? reference : undefined,
    }));
    sendEmpty(res, 201, {
      'Location': `/v2/${name}/manifests/${stored.digest}`,
      'Docker-Content-Digest': stored.digest,
      // OCI 1.1: the registry processed the subject (the referrers API lists this manifest under it).
      ...(stored.subject !== undefined ? { 'OCI-Subject': stored.subject } : {}),
    });
  });
}

/** Any other write to a manifest: images are deleted with BatchDeleteImage. */
export function refuseOnManifest({ ctx, req, params: [name] }: RegistryCall): never {
  findNamedRepository(ctx, name, 'push');
  throw unsupported(req.method === 'DELETE'
    ? 'the emulator does not delete images through the registry API: use BatchDeleteImage'
    : `${req.method} is not supported on a manifest`);
}

/** Any write to a blob: blobs go with their repository. */
export function refuseOnBlob({ ctx, req, params: [name] }: RegistryCall): never {
  findNamedRepository(ctx, name, 'push');
  throw unsupported(req.method === 'DELETE'
    ? 'blobs cannot be deleted: they belong to the repository until it is deleted'
    : `${req.method} is not supported on a blob`);
}

/** A method the route does not serve at all. */
export function unsupported(message: string): RegistryError {
  return new RegistryError('UNSUPPORTED', message);
}

/** The repository and upload an upload URL names, refused from the headers when either is unknown. */
function refuseUnknownUpload({ ctx, params: [name, segment] }: RegistryCall): { repo: RepositoryRecord; id: string; upload: UploadRecord } {
  const id = decodeSegment(segment) ?? segment;
  const repo = findNamedRepository(ctx, name, 'push');
  const upload = asRegistry(() => findUpload(ctx, findNamedRepository(ctx, name, 'push'), id));
  return { repo, id, upload };
}

/**
 * Appends a received body (`file`, `length` bytes) to the upload, looking the repository and the upload up in this
 * same step: the bytes must start where the upload stands (416 otherwise, with its Range) and keep the layer under
 * its size cap. An empty body changes nothing.
 */
function append(ctx: Context, name: string, started: RepositoryRecord, uploadId: string, file: string, length: number,
  contentRange: string | undefined): UploadRecord {
  const repo = findNamedRepository(ctx, name, 'push', started);
  const upload = asRegistry(() => findUpload(ctx, repo, uploadId));
  const headers = uploadHeaders(name, upload);
  if (contentRange !== undefined) {
    const range = /^([0-9]+)-([0-9]+)$/.exec(contentRange.trim());
    if (!range || Number(range[2]) < Number(range[1])) {
      throw new RegistryError('RANGE_INVALID', `Content-Range must be <first>-<last> (got '${contentRange}')`, headers);
    }
    const first = Number(range[1]);
    asRegistry(() => checkPartStart(ctx, repo, upload, first), headers);
    const declared = Number(range[2]) - first + 1;
    if (declared !== length) {
      throw new RegistryError('RANGE_INVALID',
        `Content-Range ${contentRange} declares ${declared} bytes but the body carries ${length}`, headers);
    }
  }
  asRegistry(() => checkLayerSize(upload, length), headers);
  if (length === 0) return upload;
  ctx.store.appendFile(upload.id, upload.received, file);
  recordPart(ctx, upload, length);
  return upload;
}

/** Completes an upload with the `digest` parameters; the shared rules end it on a mismatch. */
function complete(ctx: Context, name: string, started: RepositoryRecord, uploadId: string, digests: string[]): string {
  const repo = findNamedRepository(ctx, name, 'push', started);
  const upload = asRegistry(() => findUpload(ctx, repo, uploadId));
  if (digests.length === 0 || !digests.every(isWellFormedLayerDigest)) {
    // As a CompleteLayerUpload refused for a malformed digest: the upload stays open for a PUT with a good one.
    throw new RegistryError('DIGEST_INVALID', digests.length === 0
      ? 'the digest parameter is required to complete an upload'
      : `malformed digest parameter: ${digests.join(', ')}`, uploadHeaders(name, upload));
  }
  return asRegistry(() => completeUpload(ctx, repo, upload, digests)).digest;
}

/** Where an upload stands: its URL, and `Range: 0-<last byte received>` (`0-0` while empty, as registries send). */
function uploadHeaders(name: string, upload: UploadRecord): Record<string, string> {
  return {
    'Location': `/v2/${name}/blobs/uploads/${upload.id}`,
    'Range': `0-${Math.max(upload.received - 1, 0)}`,
    'Docker-Upload-UUID': upload.id,
    'Blob-Upload-Session-ID': upload.id,
  };
}

function blobHeaders(name: string, digest: string): Record<string, string> {
  return { 'Location': `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest };
}

/**
 * Runs `change` (synchronously: the lookups and the change it makes happen in one step) on a received body, refusing
 * one that was too large, and deletes the file whatever happens.
 */
function withBody(body: ReceivedBody, tooLarge: () => Error, change: (file: string, length: number) => void): void {
  try {
    if (body.outcome === 'too-large') throw tooLarge();
    change(body.file, body.length);
  } finally {
    fs.rmSync(body.file, { force: true });
  }
}
