/**
 * A read-only S3 endpoint (GetObject and HeadObject, path-style, with Range) serving directories as buckets, so that
 * handlers read deploy assets through `@aws-sdk/client-s3` exactly as they do in AWS.
 */
import { createHash, randomUUID } from 'crypto';
import * as fs from 'fs';
import { IncomingMessage, ServerResponse } from 'http';
import * as path from 'path';
import { decodeSegment, sendFile } from '../http';
import { s3ReadAccess } from '../iam/actions';
import { authenticate, authorizeAccess, ResourceFacts } from '../iam/authorizer';
import { PrincipalDirectory } from '../iam/principals';
import { SignatureFailure } from '../iam/sigv4';

/** IAM on the bucket (`serve --iam`): who may sign, and the account owning the buckets. */
export interface BucketIam {
  readonly principals: PrincipalDirectory;
  readonly account: string;
  readonly facts: ResourceFacts;
  /** Epoch seconds on the emulator's clock. */
  readonly now: () => number;
}

/** S3's error for each way a signature fails: status, code, message. */
const SIGNATURE_ERRORS: Readonly<Record<SignatureFailure['kind'], readonly [number, string, string]>> = {
  // The buckets are not public: an unsigned request is an anonymous user's.
  'missing': [403, 'AccessDenied', 'Access Denied'],
  'incomplete': [400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed'],
  'unknown-key': [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'],
  'token': [400, 'InvalidToken', 'The provided token is malformed or otherwise invalid.'],
  'mismatch': [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'],
  'payload': [400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed."],
  'expired-request': [403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.'],
};

export class BucketEndpoint {
  private readonly buckets = new Map<string, string>();
  /** Objects served one by one: bucket name to key to file (checked when added). */
  private readonly objects = new Map<string, Map<string, string>>();

  /** @param iam signatures verified and `s3:GetObject` evaluated on every read. @default - any request is served */
  constructor(private readonly iam?: BucketIam) {}

  /** Serves `dir` as the bucket `name`. */
  public addBucket(name: string, dir: string): void {
    this.buckets.set(name, fs.realpathSync(dir));
  }

  /** Serves `file` as the object `key` of the bucket `name`; the object takes precedence over a file of a served directory. */
  public addObject(name: string, key: string, file: string): void {
    const real = fs.realpathSync(file);
    if (!fs.statSync(real).isFile()) throw new Error(`'${file}' is not a file`);
    let objects = this.objects.get(name);
    if (!objects) this.objects.set(name, objects = new Map());
    objects.set(key, real);
  }

  public handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
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
    if (this.iam) {
      const refused = this.refusal(req, name, key);
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

  /** Under IAM: the signature, then `s3:GetObject` on the object (HeadObject asks the same), as S3 decides. */
  private refusal(req: IncomingMessage, bucket: string, key: string): readonly [number, string, string] | undefined {
    const iam = this.iam!;
    const who = authenticate(iam.principals, { method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers, body: Buffer.alloc(0) },
      's3', iam.now());
    if (!who.ok) return SIGNATURE_ERRORS[who.kind];
    const refused = authorizeAccess(who.caller, { account: iam.account }, iam.facts, s3ReadAccess(bucket, key));
    return refused ? [403, 'AccessDenied', refused.message] : undefined;
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
