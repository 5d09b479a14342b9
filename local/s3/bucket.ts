/**
 * A read-only S3 endpoint (GetObject and HeadObject, path-style, with Range) serving directories as buckets, so that
 * handlers read deploy assets through `@aws-sdk/client-s3` exactly as they do in AWS.
 */
import { createHash, randomUUID } from 'crypto';
import * as fs from 'fs';
import { IncomingMessage, ServerResponse } from 'http';
import * as path from 'path';
import { decodeSegment, sendFile } from '../http';
import { S3Refusal } from '../iam/authorizer';
import { ReceivedRequest } from '../iam/sigv4';

/**
 * Whether a read may be served (`serve --iam`: the signature and `s3:GetObject`, `s3ReadRefusal`; the deployer's asset
 * server asks the emulator the same over its control API); undefined when it may.
 */
export type ReadCheck = (request: ReceivedRequest, bucket: string, key: string) => S3Refusal | undefined | Promise<S3Refusal | undefined>;

export class BucketEndpoint {
  private readonly buckets = new Map<string, string>();
  /** Objects served one by one: bucket name to key to file (checked when added). */
  private readonly objects = new Map<string, Map<string, string>>();

  /** @param check asked before every read. @default - any request is served */
  constructor(private readonly check?: ReadCheck) {}

  /** Serves `dir` as the bucket `name`. */
  public addBucket(name: string, dir: string): void {
    this.buckets.set(name, fs.realpathSync(dir));
  }

  /** Serves `file` as the object `key` of the bucket `name`; the object takes precedence over a file of a served directory. */
  public addObject(name: string, key: string, file: string): void {
    const real = servableFile(file);
    let objects = this.objects.get(name);
    if (!objects) this.objects.set(name, objects = new Map());
    objects.set(key, real);
  }

  public async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const [, bucket, ...keyParts] = url.pathname.split('/');
    const decoded = [bucket ?? '', ...keyParts].map(decodeSegment);
    if (decoded.includes(undefined)) {
      return this.error(req, res, 400, 'InvalidURI', "Couldn't parse the specified URI.", url.pathname);
    }
    const [name, ...keySegments] = decoded as string[];
    const key = keySegments.join('/');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return this.error(req, res, 405, 'MethodNotAllowed', 'The emulator serves GetObject and HeadObject only', key);
    }
    if (this.check) {
      const request = { method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers, body: Buffer.alloc(0) };
      const refused = await this.check(request, name, key);
      if (refused) return this.error(req, res, refused[0], refused[1], refused[2], key);
    }
    const root = this.buckets.get(name);
    const objects = this.objects.get(name);
    if (!root && !objects) return this.error(req, res, 404, 'NoSuchBucket', 'The specified bucket does not exist', key);
    const object = objects?.get(key);
    const file = object !== undefined && fs.existsSync(object) ? object : root ? this.resolve(root, key) : undefined;
    if (!file) return this.error(req, res, 404, 'NoSuchKey', 'The specified key does not exist.', key);
    const stat = fs.statSync(file);
    sendFile(req, res, file, stat.size, {
      'Content-Type': 'application/octet-stream',
      'ETag': `"${createHash('md5').update(`${file}:${stat.size}:${stat.mtimeMs}`).digest('hex')}"`,
      'Last-Modified': stat.mtime.toUTCString(),
      'x-amz-request-id': randomUUID(),
    });
  }

  /** The file for `key`, or undefined when it does not exist or would lie outside the bucket (`..`, symlinks). */
  private resolve(root: string, key: string): string | undefined {
    if (key === '') return undefined;
    const candidate = path.resolve(root, key);
    if (!fs.existsSync(candidate)) return undefined;
    const real = fs.realpathSync(candidate);
    if (!real.startsWith(root + path.sep) || !fs.statSync(real).isFile()) return undefined;
    return real;
  }

  private error(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, key: string): void {
    // HEAD answers carry no body; the SDK reads the status alone.
    const body = req.method === 'HEAD' ? '' : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Key>${escapeXml(key)}</Key><RequestId>${randomUUID()}</RequestId></Error>`;
    res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(body);
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The real path of `file`, which an endpoint can serve as an object; an error when it is not a file. */
export function servableFile(file: string): string {
  const real = fs.realpathSync(file);
  if (!fs.statSync(real).isFile()) throw new Error(`'${file}' is not a file`);
  return real;
}
