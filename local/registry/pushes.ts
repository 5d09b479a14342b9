/**
 * The OCI distribution push API (`/v2/<alias>/<repositoryName>/blobs/uploads/...`, `PUT .../manifests/<reference>`),
 * so that registry clients (skopeo, podman, buildah) can push as they push to public.ecr.aws.
 *
 * Pushes need credentials, as on public.ecr.aws: `Basic base64(AWS:<password>)` with a password issued by
 * GetAuthorizationToken that has not expired. Everything a push changes goes through the same functions as the
 * ECR Public API's push operations (`operations/layers.ts`, `operations/images.ts`), so the two paths keep the same
 * rules: uploads and blobs belong to one repository, bytes arrive in order, the digest of a blob is checked against
 * the sha256 computed as it arrived, a manifest's config and layers must be blobs of the repository and an index's
 * children images of it, the digest of a manifest is the sha256 of its exact bytes, and a tag moves.
 *
 * Request bodies are received into a temporary file first; the checks and the change to the state then run
 * synchronously, so that a push never interleaves with another request's change.
 */
import * as fs from 'fs';
import { IncomingMessage, ServerResponse } from 'http';
import { EcrPublicError } from '../api/errors';
import { decodeSegment, discardBody } from '../http';
import { has, RepositoryRecord, UploadRecord } from '../store/model';
import { Context, findRepository } from '../api/operations/context';
import { ReferencesNotFoundError, storeImage } from '../api/operations/images';
import {
  cancelUpload, checkLayerSize, checkPartStart, completeUpload, findUpload, MAX_LAYER_BYTES, recordPart, startUpload,
} from '../api/operations/layers';
import { isIssuedPassword } from '../api/operations/registry';
import { LAYER_DIGEST_PATTERN } from '../api/shapes';

const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' };
const UPLOADS_ROUTE = /^\/v2\/(.+)\/blobs\/uploads\/?$/;
const UPLOAD_ROUTE = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/;
const MANIFEST_ROUTE = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const BLOB_ROUTE = /^\/v2\/(.+)\/blobs\/([^/]+)$/;
/** The tag grammar of the distribution spec (a reference that is not a digest must be one). */
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const WELL_FORMED_DIGEST = new RegExp(`^(?:${LAYER_DIGEST_PATTERN.source})$`);
/** PutImage's `imageManifest` limit (4,194,304 characters), as bytes. */
const MAX_MANIFEST_BYTES = 4_194_304;
/** The user name of the credentials, as `aws ecr-public get-login-password` is used (`--username AWS`). */
const USER = 'AWS';

/** The push API's requests: any method but GET and HEAD under `/v2/`, and every request to an upload URL. */
export function isPushRequest(method: string | undefined, pathname: string): boolean {
  if (UPLOADS_ROUTE.test(pathname) || UPLOAD_ROUTE.test(pathname)) return true;
  return method !== 'GET' && method !== 'HEAD';
}

/** `Basic realm="<host>"`: the challenge of every 401, and of the `/v2/` ping, so that clients send credentials. */
export function authChallenge(ctx: Context): string {
  return `Basic realm="${ctx.host}"`;
}

/**
 * Checks an `Authorization` header: 'missing' without one (or with empty Basic credentials), 'valid' for
 * `Basic base64(AWS:<password>)` with a password GetAuthorizationToken issued and that has not expired, 'invalid'
 * otherwise (other schemes included).
 */
export function checkCredentials(ctx: Context, header: string | undefined): 'missing' | 'valid' | 'invalid' {
  if (header === undefined || header.trim() === '') return 'missing';
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return 'invalid';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  // `Basic Og==` (an empty user and password) is what containers/image sends when it has no credentials.
  if (decoded === ':') return 'missing';
  const colon = decoded.indexOf(':');
  if (colon < 0 || decoded.slice(0, colon) !== USER) return 'invalid';
  return isIssuedPassword(ctx, decoded.slice(colon + 1)) ? 'valid' : 'invalid';
}

/** An answer of the registry API: `{"errors": [...]}` with a status and extra headers. */
class RegistryError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly headers: Record<string, string> = {},
    public readonly details: readonly unknown[] = [null],
  ) {
    super(message);
  }
}

/** The registry API's status and code for each error the shared push rules raise. */
const FROM_API_ERROR: Record<string, [number, string]> = {
  RepositoryNotFoundException: [404, 'NAME_UNKNOWN'],
  UploadNotFoundException: [404, 'BLOB_UPLOAD_UNKNOWN'],
  InvalidLayerPartException: [416, 'BLOB_UPLOAD_INVALID'],
  EmptyUploadException: [400, 'BLOB_UPLOAD_INVALID'],
  InvalidLayerException: [400, 'DIGEST_INVALID'],
  LimitExceededException: [413, 'SIZE_INVALID'],
  InvalidParameterException: [400, 'MANIFEST_INVALID'],
  LayersNotFoundException: [400, 'MANIFEST_BLOB_UNKNOWN'],
  ReferencedImagesNotFoundException: [400, 'MANIFEST_BLOB_UNKNOWN'],
  ImageDigestDoesNotMatchException: [400, 'DIGEST_INVALID'],
};

function translate(err: EcrPublicError, headers: Record<string, string> = {}): RegistryError {
  const [status, code] = FROM_API_ERROR[err.code] ?? [400, 'UNSUPPORTED'];
  const details = err instanceof ReferencesNotFoundError ? err.digests.map((digest) => ({ digest })) : [null];
  return new RegistryError(status, code, err.message, headers, details);
}

/** Runs `fn`, turning the shared rules' errors into registry errors (with `headers`, e.g. an upload's Range). */
function asRegistry<T>(fn: () => T, headers: Record<string, string> = {}): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof EcrPublicError ? translate(err, headers) : err;
  }
}

export class RegistryPushEndpoint {
  constructor(private readonly ctx: Context) {}

  public async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    try {
      await this.route(req, res, url);
    } catch (err) {
      // A client that went away in the middle of its body cannot be answered; its upload is as it was.
      if (err instanceof ClientGone || (req.destroyed && !req.complete)) return;
      const error = err instanceof EcrPublicError ? translate(err) : err;
      if (!(error instanceof RegistryError)) throw err;
      this.sendError(res, error);
      // Answered before the body was read to its end (refused from the headers, or too large): throw the rest away.
      discardBody(req);
    }
  }

  /**
   * Authenticates and routes from the headers, and refuses early what is known to fail (an unknown repository or
   * upload) before a body is read. Everything that changes the state then looks the repository and the upload up
   * again, in the same synchronous step as the change, once the body is in.
   */
  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const credentials = checkCredentials(this.ctx, req.headers.authorization);
    if (credentials !== 'valid') {
      throw new RegistryError(401, 'UNAUTHORIZED', credentials === 'missing'
        ? 'authentication required: pushes need the password of GetAuthorizationToken (user AWS)'
        : 'the credentials are not a password issued by GetAuthorizationToken to user AWS, or it has expired',
      { 'WWW-Authenticate': authChallenge(this.ctx) });
    }
    const path = url.pathname;
    const method = req.method ?? '';
    let match: RegExpExecArray | null;
    if ((match = UPLOADS_ROUTE.exec(path))) {
      if (method !== 'POST') throw unsupported(`${method} is not supported on ${path}`);
      return this.startUpload(req, res, url, match[1]);
    }
    if ((match = UPLOAD_ROUTE.exec(path))) {
      const [, name, segment] = match;
      const id = decodeSegment(segment) ?? segment;
      const repo = this.repository(name);
      const upload = () => asRegistry(() => findUpload(this.ctx, this.repository(name), id));
      switch (method) {
        case 'PATCH': {
          upload();
          const body = await spool(req, this.ctx.store.tempPath(), MAX_LAYER_BYTES);
          return withBody(body, layerTooLarge, (file, length) => {
            send(res, 202, uploadHeaders(name, this.append(name, repo, id, file, length, req.headers['content-range'])));
          });
        }
        case 'PUT': {
          upload();
          const body = await spool(req, this.ctx.store.tempPath(), MAX_LAYER_BYTES);
          return withBody(body, layerTooLarge, (file, length) => {
            this.append(name, repo, id, file, length, req.headers['content-range']);
            send(res, 201, blobHeaders(name, this.complete(name, repo, id, url.searchParams.getAll('digest'))));
          });
        }
        case 'GET':
        case 'HEAD':
          send(res, 204, uploadHeaders(name, upload()));
          return discardBody(req);
        case 'DELETE':
          cancelUpload(this.ctx, upload());
          send(res, 204, {});
          return discardBody(req);
        default:
          throw unsupported(`${method} is not supported on an upload`);
      }
    }
    if ((match = MANIFEST_ROUTE.exec(path))) {
      if (method === 'PUT') return this.putManifest(req, res, match[1], match[2]);
      this.repository(match[1]);
      throw unsupported(method === 'DELETE'
        ? 'the emulator does not delete images through the registry API: use BatchDeleteImage'
        : `${method} is not supported on a manifest`);
    }
    if ((match = BLOB_ROUTE.exec(path))) {
      this.repository(match[1]);
      throw unsupported(method === 'DELETE'
        ? 'blobs cannot be deleted: they belong to the repository until it is deleted'
        : `${method} is not supported on a blob`);
    }
    throw unsupported(`${method} is not supported on ${path}`);
  }

  /**
   * The repository `<alias>/<repositoryName>` names; NAME_UNKNOWN when it does not exist (pushes create none). With
   * `sameAs` (the repository the request found when it arrived), NAME_UNKNOWN also when that one was deleted
   * meanwhile, even if another of the same name was created since: a push never lands in a repository it did not start in.
   */
  private repository(name: string, sameAs?: RepositoryRecord): RepositoryRecord {
    const alias = this.ctx.store.state.registry.alias;
    if (!alias || !name.startsWith(`${alias}/`)) {
      throw new RegistryError(404, 'NAME_UNKNOWN', `repository name not known to registry: ${name}`);
    }
    const repo = asRegistry(() => findRepository(this.ctx, { repositoryName: name.slice(alias.length + 1) }));
    if (sameAs !== undefined && repo !== sameAs) {
      throw new RegistryError(404, 'NAME_UNKNOWN', `the repository ${name} was deleted while the request was received`);
    }
    return repo;
  }

  /**
   * `POST .../blobs/uploads/`: a new upload (202), or with `?digest=` a monolithic upload (201), which only starts
   * once its body is in, so that nothing is left behind whatever goes wrong.
   */
  private async startUpload(req: IncomingMessage, res: ServerResponse, url: URL, name: string): Promise<void> {
    const repo = this.repository(name);
    const digests = url.searchParams.getAll('digest');
    if (digests.length === 0) {
      // `?mount=<digest>&from=<name>` starts an ordinary upload too: ECR does not mount blobs across repositories.
      if (!isEmptyBody(req)) {
        throw new RegistryError(400, 'BLOB_UPLOAD_INVALID', 'a POST without ?digest= starts an upload and carries no body');
      }
      const upload = startUpload(this.ctx, this.repository(name));
      send(res, 202, uploadHeaders(name, upload));
      return discardBody(req);
    }
    const body = await spool(req, this.ctx.store.tempPath(), MAX_LAYER_BYTES);
    return withBody(body, layerTooLarge, (file, length) => {
      const upload = startUpload(this.ctx, this.repository(name, repo));
      try {
        this.append(name, repo, upload.id, file, length, undefined);
        send(res, 201, blobHeaders(name, this.complete(name, repo, upload.id, digests)));
      } finally {
        // The client never learnt this upload's URL: whatever went wrong, it cannot continue it.
        const left = has(this.ctx.store.state.uploads, upload.id) ? this.ctx.store.state.uploads[upload.id] : undefined;
        if (left) cancelUpload(this.ctx, left);
      }
    });
  }

  /**
   * Appends a received body (`file`, `length` bytes) to the upload, looking the repository and the upload up in this
   * same step: the bytes must start where the upload stands (416 otherwise, with its Range) and keep the layer under
   * its size cap. An empty body changes nothing.
   */
  private append(name: string, started: RepositoryRecord, uploadId: string, file: string, length: number,
    contentRange: string | undefined): UploadRecord {
    const repo = this.repository(name, started);
    const upload = asRegistry(() => findUpload(this.ctx, repo, uploadId));
    const headers = uploadHeaders(name, upload);
    if (contentRange !== undefined) {
      const range = /^([0-9]+)-([0-9]+)$/.exec(contentRange.trim());
      if (!range || Number(range[2]) < Number(range[1])) {
        throw new RegistryError(416, 'BLOB_UPLOAD_INVALID', `Content-Range must be <first>-<last> (got '${contentRange}')`, headers);
      }
      const first = Number(range[1]);
      asRegistry(() => checkPartStart(this.ctx, repo, upload, first), headers);
      const declared = Number(range[2]) - first + 1;
      if (declared !== length) {
        throw new RegistryError(416, 'BLOB_UPLOAD_INVALID',
          `Content-Range ${contentRange} declares ${declared} bytes but the body carries ${length}`, headers);
      }
    }
    asRegistry(() => checkLayerSize(upload, length), headers);
    if (length === 0) return upload;
    this.ctx.store.appendFile(upload.id, upload.received, file);
    recordPart(this.ctx, upload, length);
    return upload;
  }

  /** Completes an upload with the `digest` parameters; the shared rules end it on a mismatch. */
  private complete(name: string, started: RepositoryRecord, uploadId: string, digests: string[]): string {
    const repo = this.repository(name, started);
    const upload = asRegistry(() => findUpload(this.ctx, repo, uploadId));
    if (digests.length === 0 || !digests.every((d) => WELL_FORMED_DIGEST.test(d))) {
      // As a CompleteLayerUpload refused for a malformed digest: the upload stays open for a PUT with a good one.
      throw new RegistryError(400, 'DIGEST_INVALID', digests.length === 0
        ? 'the digest parameter is required to complete an upload'
        : `malformed digest parameter: ${digests.join(', ')}`, uploadHeaders(name, upload));
    }
    return asRegistry(() => completeUpload(this.ctx, repo, upload, digests)).digest;
  }

  /**
   * `PUT .../manifests/<tag or digest>`: PutImage's rules; pushing what is already there succeeds. The body is
   * received to a file, then read, checked and stored in one step with the repository's lookup.
   */
  private async putManifest(req: IncomingMessage, res: ServerResponse, name: string, segment: string): Promise<void> {
    const repo = this.repository(name);
    const reference = decodeSegment(segment);
    if (reference === undefined) throw new RegistryError(400, 'TAG_INVALID', `malformed percent-encoding in the reference '${segment}'`);
    const byDigest = reference.includes(':');
    if (!byDigest && !TAG.test(reference)) {
      throw new RegistryError(400, 'TAG_INVALID', `'${reference}' is not a valid tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
    }
    const body = await spool(req, this.ctx.store.tempPath(), MAX_MANIFEST_BYTES);
    const contentType = req.headers['content-type']?.split(';')[0].trim();
    const tooLarge = () => new RegistryError(413, 'SIZE_INVALID', `a manifest can be at most ${MAX_MANIFEST_BYTES} bytes`);
    return withBody(body, tooLarge, (file) => {
      const bytes = fs.readFileSync(file);
      const stored = asRegistry(() => storeImage(this.ctx, this.repository(name, repo), {
        bytes,
        mediaType: contentType === '' ? undefined : contentType,
        mediaTypeMember: 'Content-Type',
        tag: byDigest ? undefined : reference,
        digest: byDigest ? reference : undefined,
      }));
      send(res, 201, {
        'Location': `/v2/${name}/manifests/${stored.digest}`,
        'Docker-Content-Digest': stored.digest,
      });
    });
  }

  private sendError(res: ServerResponse, error: RegistryError): void {
    const body = Buffer.from(JSON.stringify({
      errors: error.details.map((detail) => ({ code: error.code, message: error.message, detail })),
    }));
    res.writeHead(error.status, {
      ...API_VERSION_HEADER,
      ...error.headers,
      'Content-Type': 'application/json',
      'Content-Length': String(body.length),
    });
    res.end(body);
  }
}

function unsupported(message: string): RegistryError {
  return new RegistryError(405, 'UNSUPPORTED', message);
}

function send(res: ServerResponse, status: number, headers: Record<string, string>): void {
  // A 204 carries no Content-Length (RFC 9110); the others say their body is empty.
  res.writeHead(status, { ...API_VERSION_HEADER, ...headers, ...(status === 204 ? {} : { 'Content-Length': '0' }) });
  res.end();
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

/** A blob body over the layer size cap (LimitExceededException, 413 SIZE_INVALID). */
function layerTooLarge(): Error {
  return new EcrPublicError('LimitExceededException', `A layer can be at most ${MAX_LAYER_BYTES} bytes`);
}

/** The client went away before its body was in: there is nobody to answer. */
class ClientGone extends Error {}

/** A body received into a file: its length, or too large (not read to its end). */
type Spooled = { readonly outcome: 'spooled'; readonly file: string; readonly length: number } | { readonly outcome: 'too-large'; readonly file: string };

/** Whether the request declares no body (a chunked body counts as one). */
function isEmptyBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] === undefined && Number(req.headers['content-length'] ?? 0) === 0;
}

/**
 * Receives the request body into `file` (never into memory): its length, or 'too-large' as soon as it passes `limit`
 * bytes (a declared Content-Length over it is refused before a byte is read). Throws ClientGone when the client goes
 * away first.
 */
function spool(req: IncomingMessage, file: string, limit: number): Promise<Spooled> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve({ outcome: 'too-large', file });
  const out = fs.createWriteStream(file);
  return new Promise<Spooled>((resolve, reject) => {
    let size = 0;
    let done = false;
    const finish = (result: Spooled | ClientGone) => {
      if (done) return;
      done = true;
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('close', onClose);
      req.pause();
      out.end(() => {
        if (!(result instanceof ClientGone)) return resolve(result);
        // Nobody will run the change: the partial body goes now.
        fs.rmSync(file, { force: true });
        reject(result);
      });
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish({ outcome: 'too-large', file });
      if (!out.write(chunk)) {
        req.pause();
        out.once('drain', () => {
          if (!done) req.resume();
        });
      }
    };
    const onEnd = () => finish({ outcome: 'spooled', file, length: size });
    const onClose = () => {
      if (!req.complete) finish(new ClientGone());
    };
    out.on('error', (err) => {
      done = true;
      fs.rmSync(file, { force: true });
      reject(err);
    });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', () => finish(new ClientGone()));
  });
}

/**
 * Runs `change` (synchronously: the lookups and the change it makes happen in one step) on a spooled body, refusing
 * one that was too large, and deletes the file whatever happens.
 */
function withBody(body: Spooled, tooLarge: () => Error, change: (file: string, length: number) => void): void {
  try {
    if (body.outcome === 'too-large') throw tooLarge();
    change(body.file, body.length);
  } finally {
    fs.rmSync(body.file, { force: true });
  }
}
