/**
 * Real-client test: `@aws-sdk/client-s3` reading the emulator's S3 asset bucket (path-style, GetObject/HeadObject,
 * Range), configured both with an explicit endpoint and through the AWS_ENDPOINT_URL_S3 environment variable.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startEmulator } from '../../../local';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const SECRET = 'top secret, outside the bucket\n';

let tmp: string;
let bucketDir: string;
let emu: Emulator;
let data: Buffer;
const clients: S3Client[] = [];

function explicitClient(): S3Client {
  const c = new S3Client({ endpoint: emu.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: CREDENTIALS });
  clients.push(c);
  return c;
}

let envToRestore: NodeJS.ProcessEnv | undefined;

/**
 * A client with no endpoint in its config: it must come from AWS_ENDPOINT_URL_S3 (the SDK picks path style for an
 * IP endpoint). The endpoint is resolved lazily, so the variables stay set until afterAll restores them.
 */
function envClient(): S3Client {
  envToRestore = envToRestore ?? { ...process.env };
  process.env.AWS_ENDPOINT_URL_S3 = emu.endpoint;
  process.env.AWS_CONFIG_FILE = path.join(tmp, 'aws-config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(tmp, 'aws-credentials');
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS;
  delete process.env.AWS_PROFILE;
  const c = new S3Client({ region: 'us-east-1', credentials: CREDENTIALS });
  clients.push(c);
  return c;
}

async function body(out: { Body?: unknown }): Promise<Buffer> {
  const b = out.Body as { transformToByteArray(): Promise<Uint8Array> } | undefined;
  if (!b) throw new Error('no Body');
  return Buffer.from(await b.transformToByteArray());
}

async function failure(p: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the request to fail, it succeeded');
}

/** A GET with the request path sent exactly as given (no URL normalisation of `..` or `%2e`). */
function rawGet(rawPath: string): Promise<{ status: number; body: string }> {
  const url = new URL(emu.endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'GET', path: rawPath }, res => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  tmp = makeTempDir('s3-bucket-');
  bucketDir = path.join(tmp, 'root', 'bucket');
  fs.mkdirSync(path.join(bucketDir, 'nested', 'deep'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'root', 'secret.txt'), SECRET);
  fs.writeFileSync(path.join(tmp, 'secret.txt'), SECRET);
  fs.writeFileSync(path.join(tmp, 'aws-config'), '');
  fs.writeFileSync(path.join(tmp, 'aws-credentials'), '');
  fs.writeFileSync(path.join(bucketDir, 'hello.txt'), 'hello world\n');
  data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) % 256));
  fs.writeFileSync(path.join(bucketDir, 'nested', 'deep', 'data.bin'), data);
  emu = await startEmulator({ port: 0 });
  emu.addBucket('assets', bucketDir);
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  if (envToRestore) {
    for (const k of Object.keys(process.env)) if (!(k in envToRestore)) delete process.env[k];
    Object.assign(process.env, envToRestore);
  }
  await emu?.stop();
  removeTempDir(tmp);
});

describe.each([
  ['explicit endpoint with forcePathStyle', explicitClient],
  ['AWS_ENDPOINT_URL_S3 without forcePathStyle', envClient],
])('S3 client, %s', (_label, makeClient) => {
  let s3: S3Client;
  beforeAll(() => {
    s3 = makeClient();
  });

  test('GetObject returns the whole file', async () => {
    const out = await s3.send(new GetObjectCommand({ Bucket: 'assets', Key: 'nested/deep/data.bin' }));
    expect((await body(out)).equals(data)).toBe(true);
    expect(out.ContentLength).toBe(data.length);
    const hello = await s3.send(new GetObjectCommand({ Bucket: 'assets', Key: 'hello.txt' }));
    expect((await body(hello)).toString('utf8')).toBe('hello world\n');
  });

  test('GetObject with Range returns 206 and the bytes asked for', async () => {
    const out = await s3.send(new GetObjectCommand({ Bucket: 'assets', Key: 'nested/deep/data.bin', Range: 'bytes=100-199' }));
    expect(out.$metadata.httpStatusCode).toBe(206);
    expect(out.ContentRange).toBe(`bytes 100-199/${data.length}`);
    expect(out.ContentLength).toBe(100);
    expect((await body(out)).equals(data.subarray(100, 200))).toBe(true);

    const tail = await s3.send(new GetObjectCommand({ Bucket: 'assets', Key: 'nested/deep/data.bin', Range: 'bytes=990-' }));
    expect(tail.ContentRange).toBe(`bytes 990-999/${data.length}`);
    expect((await body(tail)).equals(data.subarray(990))).toBe(true);

    const suffix = await s3.send(new GetObjectCommand({ Bucket: 'assets', Key: 'nested/deep/data.bin', Range: 'bytes=-5' }));
    expect(suffix.ContentRange).toBe(`bytes 995-999/${data.length}`);
    expect((await body(suffix)).equals(data.subarray(995))).toBe(true);
  });

  test('HeadObject reports ContentLength and the ETag of GetObject', async () => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'assets', Key: 'nested/deep/data.bin' }));
    expect(head.ContentLength).toBe(data.length);
    expect(head.ETag).toMatch(/^"[^"]+"$/);
    const get = await s3.send(new GetObjectCommand({ Bucket: 'assets', Key: 'nested/deep/data.bin' }));
    await body(get);
    expect(get.ETag).toBe(head.ETag);
    const other = await s3.send(new HeadObjectCommand({ Bucket: 'assets', Key: 'hello.txt' }));
    expect(other.ContentLength).toBe(12);
    expect(other.ETag).not.toBe(head.ETag);
  });

  test('a missing key is NoSuchKey (GetObject) and 404 (HeadObject)', async () => {
    const get = await failure(s3.send(new GetObjectCommand({ Bucket: 'assets', Key: 'nested/missing.bin' })));
    expect(get).toEqual({ name: 'NoSuchKey', status: 404 });
    const head = await failure(s3.send(new HeadObjectCommand({ Bucket: 'assets', Key: 'nested/missing.bin' })));
    expect(head.status).toBe(404);
    // A directory of the bucket is not an object either.
    const dir = await failure(s3.send(new GetObjectCommand({ Bucket: 'assets', Key: 'nested/deep' })));
    expect(dir).toEqual({ name: 'NoSuchKey', status: 404 });
  });

  test('a missing bucket is NoSuchBucket', async () => {
    const get = await failure(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'hello.txt' })));
    expect(get).toEqual({ name: 'NoSuchBucket', status: 404 });
  });

  test('a key with ../ cannot leave the bucket directory', async () => {
    for (const key of ['../secret.txt', 'nested/../../secret.txt', '../../secret.txt', 'nested/deep/../../../secret.txt']) {
      const res = await failure(s3.send(new GetObjectCommand({ Bucket: 'assets', Key: key })));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
  });
});

describe('raw requests', () => {
  test('path traversal in the raw request path does not reach files outside the bucket', async () => {
    const paths = [
      '/assets/../secret.txt',
      '/assets/../../secret.txt',
      '/assets/..%2fsecret.txt',
      '/assets/..%2Fsecret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/assets/nested/..%2f..%2f..%2fsecret.txt',
      '/assets/..\\secret.txt',
      '/assets/%2e%2e%5csecret.txt',
    ];
    for (const p of paths) {
      const res = await rawGet(p);
      expect({ path: p, leaked: res.body.includes('top secret') }).toEqual({ path: p, leaked: false });
      expect({ path: p, ok: res.status === 200 }).toEqual({ path: p, ok: false });
    }
  });

  test('a plain GET of an object works without any signature', async () => {
    const res = await rawGet('/assets/hello.txt');
    expect(res.status).toBe(200);
    expect(res.body).toBe('hello world\n');
  });
});
