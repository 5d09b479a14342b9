import { createHash, randomBytes } from 'node:crypto';
import { DigestCounter } from '../../lambda/image-publisher/layer-compression';
import { PartBodyBuffers, partBytes, preparePart, uploadPartCommand } from '../../lambda/image-publisher/part-body';

const members = (first: number, length: number) => ({
  repositoryName: 'team/app', uploadId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', partFirstByte: first, partLastByte: first + length - 1,
});

describe('prepared layer part bodies', () => {
  test.each([1, 2, 3, 4, 122_880, 122_881, 1_500_001])('a %d-byte part is the JSON the SDK would send, with its hash and the layer digest', async (length) => {
    const part = randomBytes(length);
    const digest = new DigestCounter();
    digest.update(Buffer.from('earlier bytes'));
    const before = digest.copy();
    const prepared = await preparePart(members(13, length), part, digest, new PartBodyBuffers());

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
    const prepared = await preparePart(members(0, part.length), part, new DigestCounter(), new PartBodyBuffers());
    for (const [from, to] of [[0, 10_007], [0, 1], [1, 2], [2, 5], [3, 9], [4, 10_006], [9_999, 10_007], [5_000, 5_000]]) {
      expect(partBytes(prepared, from, to).equals(part.subarray(from, to))).toBe(true);
    }
  });

  test('two buffers are used in turn, so the body of the part in flight is never overwritten by the next', async () => {
    const buffers = new PartBodyBuffers();
    const a = await preparePart(members(1000, 3000), randomBytes(3000), new DigestCounter(), buffers);
    const aText = a.body.toString('latin1');
    const b = await preparePart(members(4000, 3000), randomBytes(3000), new DigestCounter(), buffers);
    expect(a.body.toString('latin1')).toBe(aText);
    expect(b.body.buffer).not.toBe(a.body.buffer);
    // The third reuses the first one's memory: the first part is answered by then.
    const c = await preparePart(members(7000, 3000), randomBytes(3000), new DigestCounter(), buffers);
    expect(c.body.buffer).toBe(a.body.buffer);
  });

  test('the command sends the prepared body, and refuses one whose members differ from what the SDK serializes', async () => {
    const part = randomBytes(100);
    const prepared = await preparePart(members(0, 100), part, new DigestCounter(), new PartBodyBuffers());
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
