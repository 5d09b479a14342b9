import * as fs from 'fs';
import * as path from 'path';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CREDENTIALS, expectError, randomBytes, useEmulator } from './support';
import { makeTempDir } from '../../support/temp-dirs';

const dir = makeTempDir('ecr-public-bucket-');
const other = makeTempDir('ecr-public-bucket-');
const content = randomBytes(4096);
fs.mkdirSync(path.join(dir, 'nested'), { recursive: true });
fs.writeFileSync(path.join(dir, 'nested', 'asset.bin'), content);
fs.writeFileSync(path.join(other, 'hello.txt'), 'hello');

const h = useEmulator({ buckets: { assets: dir } });
let s3: S3Client;

beforeAll(() => {
  s3 = new S3Client({ endpoint: h.emu.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: CREDENTIALS, maxAttempts: 1 });
});

afterAll(() => {
  s3.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(other, { recursive: true, force: true });
});

describe('asset bucket (S3 GetObject/HeadObject, path-style)', () => {
  test('GetObject returns the file', async () => {
    const out = await s3.send(new GetObjectCommand({ Bucket: 'assets', Key: 'nested/asset.bin' }));
    const body = Buffer.from(await out.Body!.transformToByteArray());
    expect(body.equals(content)).toBe(true);
    expect(out.ContentLength).toBe(4096);
  });

  test('Range returns the slice', async () => {
    const out = await s3.send(new GetObjectCommand({ Bucket: 'assets', Key: 'nested/asset.bin', Range: 'bytes=100-199' }));
    const body = Buffer.from(await out.Body!.transformToByteArray());
    expect(body.equals(content.subarray(100, 200))).toBe(true);
    expect(out.ContentRange).toBe('bytes 100-199/4096');
    expect(out.$metadata.httpStatusCode).toBe(206);
  });

  test('HeadObject returns the length', async () => {
    const out = await s3.send(new HeadObjectCommand({ Bucket: 'assets', Key: 'nested/asset.bin' }));
    expect(out.ContentLength).toBe(4096);
  });

  test('a missing key is NoSuchKey (GET) and 404 (HEAD)', async () => {
    await expectError(s3.send(new GetObjectCommand({ Bucket: 'assets', Key: 'nope.bin' })), 'NoSuchKey');
    const err = await s3.send(new HeadObjectCommand({ Bucket: 'assets', Key: 'nope.bin' })).then(() => undefined, (e) => e);
    expect(err?.$metadata?.httpStatusCode).toBe(404);
  });

  test('a path escaping the directory is not served', async () => {
    const res = await fetch(`${h.emu.endpoint}/assets/..%2F..%2Fetc%2Fpasswd`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    await res.arrayBuffer();
  });

  test('addBucket serves another directory; faults do not apply', async () => {
    h.emu.addBucket('more', other);
    h.emu.setFaults({ throttleRate: 1 });
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: 'more', Key: 'hello.txt' }));
      expect(await out.Body!.transformToString()).toBe('hello');
    } finally {
      h.emu.setFaults({ throttleRate: 0 });
    }
  });
});
