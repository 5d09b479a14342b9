/**
 * Verifying AWS Signature Version 4 on a request the emulator received (emulator side), written from the SigV4
 * specification rather than with the SDK's signer (`signRequest`, over the same canonical form, signs only the local
 * tools' own calls to the emulator: the deployer's control calls and `credentials`): the tests check it against what the AWS SDK for JavaScript and the
 * AWS CLI (botocore) send, so a request our handlers sign wrongly fails here as it would on AWS.
 *
 * What is checked: the `Authorization` header's form (`AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/
 * aws4_request, SignedHeaders=..., Signature=...`), that `host` and `x-amz-date` are signed, the date of the scope
 * against `X-Amz-Date`, the request time within 15 minutes of the emulator's clock, the payload hash
 * (`X-Amz-Content-SHA256` against the body when sent; S3 requires it), the session token of temporary credentials,
 * and the signature over the canonical request. Query-string (pre-signed) authentication is not accepted here.
 */
import { createHash, createHmac, timingSafeEqual } from 'crypto';
import { IncomingHttpHeaders } from 'http';

/** How far a request's time may be from the emulator's clock, as AWS allows. */
export const MAX_CLOCK_SKEW_SECONDS = 15 * 60;
const ALGORITHM = 'AWS4-HMAC-SHA256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const STREAMING_PREFIX = 'STREAMING-';

/** A request as it came off the wire. */
export interface ReceivedRequest {
  readonly method: string;
  /** The request target as sent (`/bucket/a%20key?x-id=GetObject`): path and query, not decoded. */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  /** The body received (empty for none). */
  readonly body: Buffer;
}

/** The secret of an access key the emulator issued or knows. */
export interface KnownKey {
  readonly secretAccessKey: string;
  /** Temporary credentials carry a session token, which must come with every request. @default - long-term key */
  readonly sessionToken?: string;
  /** Epoch seconds after which temporary credentials are refused. @default - never */
  readonly expiresAt?: number;
}

/** Why a request's signature is refused; `kind` picks the service's error code. */
export type SignatureFailure =
  | { readonly ok: false; readonly kind: 'missing' | 'incomplete' | 'unknown-key' | 'mismatch' | 'expired-request' | 'token' | 'payload'; readonly message: string };

/** A verified request: who signed it, and the scope they signed for. */
export interface VerifiedSignature {
  readonly ok: true;
  readonly accessKeyId: string;
  readonly region: string;
  readonly service: string;
}

interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: string[];
  readonly signature: string;
}

/**
 * Verifies the SigV4 signature of `request` for `service` (`ecr-public`, `s3`, ...), looking the access key up with
 * `keyOf`; `nowSeconds` is the emulator's clock.
 */
export function verifySignature(
  request: ReceivedRequest, service: string, keyOf: (accessKeyId: string) => KnownKey | undefined, nowSeconds: number,
): VerifiedSignature | SignatureFailure {
  const header = single(request.headers.authorization);
  if (header === undefined) return fail('missing', 'Missing Authentication Token');
  const auth = parseAuthorization(header);
  if (typeof auth === 'string') return fail('incomplete', auth);
  if (auth.service !== service) return fail('mismatch', `Credential should be scoped to correct service: '${service}'.`);
  for (const required of ['host', 'x-amz-date']) {
    if (!auth.signedHeaders.includes(required)) return fail('incomplete', `'${required}' must be a signed header.`);
  }
  const amzDate = single(request.headers['x-amz-date']);
  const time = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (amzDate === undefined || time === undefined) return fail('incomplete', 'X-Amz-Date must be given as YYYYMMDDTHHMMSSZ.');
  if (!amzDate.startsWith(auth.date)) {
    return fail('mismatch', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}'`);
  }
  if (Math.abs(time - nowSeconds) > MAX_CLOCK_SKEW_SECONDS) {
    return fail('expired-request', `Signature expired: ${amzDate} is now earlier than or later than the allowed 15 minutes around the server's time ${formatAmzDate(nowSeconds)}.`);
  }
  const key = keyOf(auth.accessKeyId);
  if (key === undefined) return fail('unknown-key', 'The security token included in the request is invalid.');
  if (key.sessionToken !== undefined) {
    if (single(request.headers['x-amz-security-token']) !== key.sessionToken) return fail('token', 'The security token included in the request is invalid.');
    if (key.expiresAt !== undefined && nowSeconds >= key.expiresAt) return fail('token', 'The security token included in the request is expired');
  }
  const payload = payloadHash(request, service);
  if (payload.ok === false) return payload;
  const canonical = canonicalRequest(request, service, auth.signedHeaders, payload.hash);
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
  const expected = hmac(signingKey(key.secretAccessKey, auth.date, auth.region, auth.service), stringToSign).toString('hex');
  const given = Buffer.from(auth.signature, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected, 'utf8'))) {
    return fail('mismatch', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }
  return { ok: true, accessKeyId: auth.accessKeyId, region: auth.region, service: auth.service };
}

/** Credentials to sign with. */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/**
 * The headers that sign a request (`Authorization`, `X-Amz-Date`, `X-Amz-Content-SHA256`, and `X-Amz-Security-Token`
 * for temporary credentials), to add to `headers`: the local tools' own calls to the emulator (`host` is taken from
 * `url`). `nowSeconds` is the signing time.
 */
export function signRequest(
  request: { readonly method: string; readonly url: string; readonly headers?: Readonly<Record<string, string>>; readonly body?: string | Buffer },
  credentials: SigningCredentials, service: string, region: string, nowSeconds: number,
): Record<string, string> {
  const url = new URL(request.url);
  const body = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body);
  const amzDate = formatAmzDate(Math.floor(nowSeconds));
  const added: Record<string, string> = {
    'x-amz-date': amzDate,
    'x-amz-content-sha256': sha256Hex(body),
    ...(credentials.sessionToken !== undefined ? { 'x-amz-security-token': credentials.sessionToken } : {}),
  };
  // Header names are the caller's: kept in an object without a prototype, where `__proto__` is a name like others.
  const headers: Record<string, string> = Object.assign(Object.create(null), { host: url.host, ...added });
  for (const [k, v] of Object.entries(request.headers ?? {})) headers[k.toLowerCase()] = v;
  const signedHeaders = Object.keys(headers).sort();
  const canonical = canonicalRequest(
    { method: request.method, target: `${url.pathname}${url.search}`, headers, body }, service, signedHeaders, added['x-amz-content-sha256']);
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
  const signature = hmac(signingKey(credentials.secretAccessKey, date, region, service), stringToSign).toString('hex');
  return {
    ...added,
    authorization: `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`,
  };
}

function fail(kind: SignatureFailure['kind'], message: string): SignatureFailure {
  return { ok: false, kind, message };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** The parts of an `AWS4-HMAC-SHA256` header, or what is wrong with it (the service's wording). */
function parseAuthorization(header: string): ParsedAuthorization | string {
  if (!header.startsWith(`${ALGORITHM} `)) return `Unsupported Authorization Type: only ${ALGORITHM} is accepted`;
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  const missing = [['Credential', credential], ['SignedHeaders', signedHeaders], ['Signature', signature]].filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length > 0) return `Authorization header requires '${missing.join("', '")}' parameter(s). Authorization=${header.slice(0, 200)}`;
  const scope = credential!.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request' || !/^\d{8}$/.test(scope[1]) || scope.some((s) => s === '')) {
    return `Credential should be of the form <key>/<YYYYMMDD>/<region>/<service>/aws4_request (got '${credential}')`;
  }
  if (!/^[0-9a-f]{64}$/.test(signature!)) return 'Signature must be 64 lower-case hexadecimal characters.';
  const names = signedHeaders!.split(';');
  if (names.some((n) => n === '' || n !== n.toLowerCase())) return `SignedHeaders must be lower-case names separated by ';' (got '${signedHeaders}')`;
  return { accessKeyId: scope[0], date: scope[1], region: scope[2], service: scope[3], signedHeaders: names, signature: signature! };
}

/** Epoch seconds of `YYYYMMDDTHHMMSSZ`, or undefined. */
function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

function formatAmzDate(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * The payload hash the signature covers: the `X-Amz-Content-SHA256` sent (which must be the body's, unless unsigned),
 * else the body's. S3 requires the header.
 */
function payloadHash(request: ReceivedRequest, service: string): { ok: true; hash: string } | SignatureFailure {
  const declared = single(request.headers['x-amz-content-sha256']);
  const actual = sha256Hex(request.body);
  if (declared === undefined) {
    if (service === 's3') return fail('payload', 'Missing required header for this request: x-amz-content-sha256');
    return { ok: true, hash: actual };
  }
  if (declared === UNSIGNED_PAYLOAD) return { ok: true, hash: declared };
  if (declared.startsWith(STREAMING_PREFIX)) return fail('payload', `Streaming (chunk-signed) payloads are not accepted here: ${declared}`);
  if (declared !== actual) {
    return fail('payload', `The provided 'x-amz-content-sha256' header does not match what was computed (${declared} given, ${actual} computed).`);
  }
  return { ok: true, hash: declared };
}

/** The canonical request of SigV4: method, URI, query, signed headers, their names, and the payload hash. */
function canonicalRequest(request: ReceivedRequest, service: string, signedHeaders: readonly string[], payload: string): string {
  const q = request.target.indexOf('?');
  const rawPath = q < 0 ? request.target : request.target.slice(0, q);
  const rawQuery = q < 0 ? '' : request.target.slice(q + 1);
  return [
    request.method.toUpperCase(),
    canonicalUri(rawPath, service),
    canonicalQuery(rawQuery),
    // Each header line ends with a newline, so the block is followed by an empty line.
    // Own headers only: a signed name such as `constructor` is a header the request lacks, not the object's.
    signedHeaders.map((name) => `${name}:${canonicalHeaderValue(Object.hasOwn(request.headers, name) ? request.headers[name] : undefined)}\n`).join(''),
    signedHeaders.join(';'),
    payload,
  ].join('\n');
}

/**
 * S3 signs the path as sent; every other service signs it normalised (no `.` or `..` segments, no empty ones) with each
 * segment encoded once more (what is sent is already encoded once).
 */
function canonicalUri(rawPath: string, service: string): string {
  if (rawPath === '') return '/';
  if (service === 's3') return rawPath;
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const path = `/${segments.map(uriEncode).join('/')}`;
  return rawPath.endsWith('/') && segments.length > 0 ? `${path}/` : path;
}

/** Query parameters decoded, sorted by name then value, encoded as SigV4 encodes (RFC 3986 unreserved kept). */
function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = rawQuery.split('&').filter((p) => p !== '').map((p) => {
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? '' : p.slice(eq + 1);
    return [uriEncode(decodeLenient(name)), uriEncode(decodeLenient(value))] as const;
  });
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

function decodeLenient(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, '%20'));
  } catch {
    return value;
  }
}

/** SigV4's URI encoding: every byte but `A-Z a-z 0-9 - _ . ~` as `%XX` (upper-case hex). */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A header's value as SigV4 signs it: repeated headers joined by commas, trimmed, inner runs of spaces made one. */
function canonicalHeaderValue(value: string | string[] | number | undefined): string {
  const text = Array.isArray(value) ? value.join(',') : value === undefined ? '' : String(value);
  return text.trim().replace(/\s+/g, ' ');
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}
