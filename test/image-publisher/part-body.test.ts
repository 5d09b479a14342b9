import { createHash, randomBytes } from 'node:crypto';
import { BodyPool, functionMemoryMiB, sharedBodies } from '../../lambda/image-publisher/body-pool';
import { DigestCounter } from '../../lambda/image-publisher/layer-compression';
import { partBytes, preparePart, uploadPartCommand } from '../../lambda/image-publisher/part-body';

const members = (first: number, length: number) => ({
  repositoryName: 'team/app', uploadId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', partFirstByte: first, partLastByte: first + length - 1,
});
const place = (first: number, expectedLength: number) => ({
  repositoryName: 'team/app', uploadId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', partFirstByte: first, expectedLength,
});
/** `bytes` as chunks of the sizes `sizes` gives in turn. */
async function* chunked(bytes: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length];
    yield bytes.subarray(at, at + size);
    at += size;
  }
}
const prepare = async (first: number, part: Buffer, digest = new DigestCounter(), pool = new BodyPool(2), sizes = [part.length || 1]) => {
  const prepared = await preparePart(place(first, part.length), chunked(part, sizes), digest, pool);
  if (!prepared) throw new Error('no part');
  return prepared;
};

describe('prepared layer part bodies', () => {
  test.each([
    [1, [1]], [2, [1]], [3, [1, 2]], [4, [4]], [122_880, [65_536]], [122_881, [16_384, 1, 2, 5]], [1_500_001, [1_500_001]], [1_500_001, [100_000, 7]],
  ])('a %d-byte part (chunks of %j bytes) is the JSON the SDK would send, with its hash and the layer digest', async (length, sizes) => {
    const part = randomBytes(length);
    const digest = new DigestCounter();
    digest.update(Buffer.from('earlier bytes'));
    const before = digest.copy();
    const prepared = await prepare(13, part, digest, new BodyPool(2), sizes);

    const parsed = JSON.parse(prepared.body.toString('utf8'));
    expect(parsed).toEqual({ ...members(13, length), layerPartBlob: part.toString('base64') });
    expect(prepared.bodySha256).toBe(createHash('sha256').update(prepared.body).digest('hex'));
    expect(digest.bytes).toBe(13 + length);
    expect(digest.digest()).toBe(`sha256:${createHash('sha256').update('earlier bytes').update(part).digest('hex')}`);
    // The digest before the part is kept apart, for a part the registry takes only the head of.
    expect(prepared.digestBefore.digest()).toBe(before.digest());
  });

  test('any range of the layer bytes decodes back from the body', async () => {
    const part = randomBytes(10_007);
    const prepared = await prepare(0, part, new DigestCounter(), new BodyPool(2), [1000, 1]);
    for (const [from, to] of [[0, 10_007], [0, 1], [1, 2], [2, 5], [3, 9], [4, 10_006], [9_999, 10_007], [5_000, 5_000]]) {
      expect(partBytes(prepared, from, to).equals(part.subarray(from, to))).toBe(true);
    }
  });

  test('a source that ends before the expected length makes a shorter part, whose head names its real last byte', async () => {
    // The expected last byte has six digits, the real one five: the head is shorter than the one laid out.
    const part = randomBytes(500);
    const prepared = await preparePart(place(99_000, 5000), chunked(part, [300]), new DigestCounter(), new BodyPool(2));
    expect(prepared!.members).toEqual(members(99_000, 500));
    expect(JSON.parse(prepared!.body.toString('utf8'))).toEqual({ ...members(99_000, 500), layerPartBlob: part.toString('base64') });
    expect(prepared!.bodySha256).toBe(createHash('sha256').update(prepared!.body).digest('hex'));
    expect(partBytes(prepared!, 0, 500).equals(part)).toBe(true);
  });

  test('no bytes make no part, and give the buffer back', async () => {
    const pool = new BodyPool(2);
    expect(await preparePart(place(0, 10), chunked(Buffer.alloc(0), [1]), new DigestCounter(), pool)).toBeUndefined();
    expect(await preparePart(place(0, 10), chunked(Buffer.alloc(0), [1]), new DigestCounter(), pool)).toBeUndefined();
    // Both buffers are free again: a third and fourth body are built without waiting.
    const a = await prepare(0, randomBytes(10), new DigestCounter(), pool);
    const b = await prepare(10, randomBytes(10), new DigestCounter(), pool);
    expect(b.body.buffer).not.toBe(a.body.buffer);
  });

  test('a pool lends each buffer to one part at a time: the next part waits for a body to be released, and reuses its memory', async () => {
    const pool = new BodyPool(2);
    const a = await prepare(1000, randomBytes(3000), new DigestCounter(), pool);
    const aText = a.body.toString('latin1');
    const b = await prepare(4000, randomBytes(3000), new DigestCounter(), pool);
    expect(a.body.toString('latin1')).toBe(aText);
    expect(b.body.buffer).not.toBe(a.body.buffer);
    let third: Buffer | undefined;
    const c = prepare(7000, randomBytes(3000), new DigestCounter(), pool).then((p) => {
      third = p.body;
      return p;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBeUndefined();
    expect(a.body.toString('latin1')).toBe(aText);
    a.release();
    a.release();
    expect((await c).body.buffer).toBe(a.body.buffer);
    expect(pool.limit).toBe(2);
  });

  test('a publish holds two bodies where the memory is unknown; in Lambda, one per blob in flight and one more, as the memory allows', () => {
    expect(sharedBodies(4, undefined)).toBe(2);
    expect(sharedBodies(4, functionMemoryMiB({}))).toBe(2);
    expect(sharedBodies(4, functionMemoryMiB({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: 'lots' }))).toBe(2);
    expect(functionMemoryMiB({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' })).toBe(1024);
    expect(sharedBodies(4, 1024)).toBe(5);
    expect(sharedBodies(32, 1024)).toBe(30);
    expect(sharedBodies(32, 384)).toBe(8);
    expect(sharedBodies(1, 1024)).toBe(2);
    expect(sharedBodies(4, 200)).toBe(2);
  });

  test('the command sends the prepared body, and refuses one whose members differ from what the SDK serializes', async () => {
    const prepared = await prepare(0, randomBytes(100));
    const command = uploadPartCommand(prepared);
    const handler = command.middlewareStack.resolve(async (args: any) => ({ output: args.request, response: {} }) as any, {} as any);
    const sent: any = (await handler({ input: command.input, request: { body: JSON.stringify({ ...prepared.members, layerPartBlob: '' }), headers: { 'Content-Length': '5' } } } as any)).output;
    expect(sent.body).toBe(prepared.body);
    expect(sent.headers).toEqual({ 'content-length': String(prepared.body.length), 'x-amz-content-sha256': prepared.bodySha256 });
    const other = await handler({ input: command.input, request: { body: JSON.stringify({ ...prepared.members, uploadId: 'another', layerPartBlob: '' }), headers: {} } } as any)
      .then(() => 'sent', (err: Error) => err.message);
    expect(other).toMatch(/not with the members of the prepared body/);
  });
});
