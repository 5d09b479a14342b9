/**
 * The registry API of the stand-ins for private ECR repositories (`service/stand-in-repositories.ts`), as a private
 * ECR registry answers it: every request needs `Basic base64(AWS:<password>)` with a password GetAuthorizationToken
 * issued (private ECR has no anonymous pulls); pulls (manifests, blobs, tags) and pushes (uploads in one piece or in
 * chunks, manifests by tag or digest). Routed from `routes.ts`, before its table, for the stand-in names of the
 * emulator's account (one path segment: a public repository is always `<alias>/<name>`).
 */
import * as fs from 'fs';
import { pipeline } from 'stream/promises';
import { decodeSegment, discardBody, isEmptyBody, receiveBodyToFile } from '../http';
import { checkCredentials } from './credentials';
import { RegistryError } from './errors';
import { sendBlob, sendEmpty, sendManifest, sendRegistryJson } from './responses';
import type { RegistryCall } from './routes';
import { MAX_LAYER_BYTES } from '../service/layers';
import {
  cancelStandInUpload, completeStandInUpload, isStandInName, MAX_STAND_IN_MANIFEST_BYTES, putStandInManifest, standInBlob, standInManifest,
  StandInManifestError, standInTags, standInUpload, startStandInUpload,
} from '../service/stand-in-repositories';

const PATH = /^\/v2\/([^/]+)\/(manifests|blobs|tags|blobs\/uploads)\/([^/]*)$/;

/** Whether `pathname` is the registry API of a stand-in repository of the account `accountId`. */
export function isStandInPath(accountId: string, pathname: string): boolean {
  const name = PATH.exec(pathname)?.[1];
  return name !== undefined && isStandInName(accountId, name);
}

/**
 * A pull from, or a push to, a stand-in repository. `tokenHolder`: the request carries a Bearer token the registry's
 * token endpoint issued for a password (under `--iam`, where the host answers Bearer challenges), which stands for it.
 */
export async function serveStandIn(call: RegistryCall, tokenHolder = false): Promise<void> {
  const { ctx, req, url } = call;
  const [, name, kind, segment] = PATH.exec(url.pathname)!;
  const credentials = tokenHolder ? 'token' : checkCredentials(ctx, req.headers.authorization);
  if (credentials === 'missing' || credentials === 'invalid') {
    throw new RegistryError('UNAUTHORIZED', credentials === 'missing'
      ? `authentication required: the private repository ${name} needs the password of ECR's GetAuthorizationToken (user AWS)`
      : 'the credentials are not a password issued by GetAuthorizationToken to user AWS, or it has expired',
    { 'WWW-Authenticate': `Basic realm="http://${ctx.host}/",service="ecr.amazonaws.com"` });
  }
  const reference = decodeSegment(segment);
  if (reference === undefined) throw new RegistryError('NAME_INVALID', `malformed percent-encoding in '${segment}'`);
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const route = `${method} ${kind}`;
  switch (route) {
    case 'GET tags': return listTags(call, name, reference);
    case 'GET manifests': return getManifest(call, name, reference);
    case 'GET blobs': return getBlob(call, name, reference);
    case 'PUT manifests': return putManifest(call, name, reference);
    case 'POST blobs/uploads': return postUpload(call, name, reference);
    case 'PATCH blobs/uploads':
    case 'PUT blobs/uploads': return continueUpload(call, name, reference);
    case 'DELETE blobs/uploads':
      cancelStandInUpload(ctx.store.root, name, reference);
      return sendEmpty(call.res, 204, {});
  }
  throw new RegistryError('UNSUPPORTED', `${req.method} is not supported on ${url.pathname}`);
}

function listTags({ ctx, res, url }: RegistryCall, name: string, reference: string): void {
  if (reference !== 'list') throw new RegistryError('NAME_INVALID', `not a registry API path: ${url.pathname}`);
  sendRegistryJson(res, 200, { name, tags: standInTags(ctx.store.root, name) });
}

function getManifest({ ctx, req, res }: RegistryCall, name: string, reference: string): void {
  const manifest = standInManifest(ctx.store.root, name, reference);
  if (!manifest) throw new RegistryError('MANIFEST_UNKNOWN', `manifest unknown: ${reference}`);
  sendManifest(req, res, manifest.bytes, manifest.mediaType, manifest.digest);
}

function getBlob({ ctx, req, res }: RegistryCall, name: string, digest: string): void {
  const blob = standInBlob(ctx.store.root, name, digest);
  if (!blob) throw new RegistryError('BLOB_UNKNOWN', `blob unknown to registry: ${digest}`);
  sendBlob(req, res, blob.file, blob.size, { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest });
}

/** `PUT .../manifests/<tag or digest>`: the body, bounded, stored once every blob it names is in the repository. */
async function putManifest({ ctx, req, res }: RegistryCall, name: string, reference: string): Promise<void> {
  const mediaType = String(req.headers['content-type'] ?? '').split(';')[0].trim();
  if (mediaType === '') throw new RegistryError('MANIFEST_INVALID', 'a manifest needs its media type as Content-Type');
  const body = await receiveBodyToFile(req, ctx.store.tempPath(), MAX_STAND_IN_MANIFEST_BYTES);
  try {
    if (body.outcome === 'too-large') throw new RegistryError('SIZE_INVALID', `a manifest is at most ${MAX_STAND_IN_MANIFEST_BYTES} bytes`);
    const digest = putStandInManifest(ctx.store.root, name, reference, mediaType, fs.readFileSync(body.file));
    sendEmpty(res, 201, { 'Location': `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest });
  } catch (err) {
    throw err instanceof StandInManifestError ? new RegistryError(err.kind, err.message) : err;
  } finally {
    fs.rmSync(body.file, { force: true });
  }
}

/** `POST .../blobs/uploads/`: a new upload (202); with `?digest=`, the whole blob at once (201). Mounts are not made. */
async function postUpload(call: RegistryCall, name: string, rest: string): Promise<void> {
  const { ctx, req, res, url } = call;
  if (rest !== '') throw new RegistryError('NAME_INVALID', `not a registry API path: ${url.pathname}`);
  const id = startStandInUpload(ctx.store.root, name);
  if (url.searchParams.get('digest') === null) {
    if (!isEmptyBody(req)) throw new RegistryError('BLOB_UPLOAD_INVALID', 'a POST without ?digest= starts an upload and carries no body');
    sendEmpty(res, 202, uploadHeaders(name, id, 0));
    return discardBody(req);
  }
  try {
    await continueUpload(call, name, id, true);
  } finally {
    // The client never learnt this upload's URL: whatever happened, it cannot continue it.
    cancelStandInUpload(ctx.store.root, name, id);
  }
}

/**
 * `PATCH <upload URL>` appends its body; `PUT <upload URL>?digest=` appends its body, if any, and completes the
 * upload, the blob checked against the digest.
 */
async function continueUpload({ ctx, req, res, url }: RegistryCall, name: string, id: string, complete = req.method === 'PUT'): Promise<void> {
  const upload = standInUpload(ctx.store.root, name, id);
  if (!upload) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `blob upload unknown to registry: ${id}`);
  const body = await receiveBodyToFile(req, ctx.store.tempPath(), MAX_LAYER_BYTES - upload.size);
  try {
    if (body.outcome === 'too-large') throw new RegistryError('SIZE_INVALID', `a layer is at most ${MAX_LAYER_BYTES} bytes`);
    await pipeline(fs.createReadStream(body.file), fs.createWriteStream(upload.file, { flags: 'a' }));
  } finally {
    fs.rmSync(body.file, { force: true });
  }
  if (!complete) return sendEmpty(res, 202, uploadHeaders(name, id, upload.size + body.length));
  const digest = url.searchParams.get('digest') ?? '';
  if (!completeStandInUpload(ctx.store.root, name, id, digest)) {
    throw new RegistryError('DIGEST_INVALID', `the upload's bytes do not hash to the digest '${digest}'`);
  }
  sendEmpty(res, 201, { 'Location': `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
}

function uploadHeaders(name: string, id: string, size: number): Record<string, string> {
  return { 'Location': `/v2/${name}/blobs/uploads/${id}`, 'Docker-Upload-UUID': id, 'Range': `0-${Math.max(size - 1, 0)}` };
}
