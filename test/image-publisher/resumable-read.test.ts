/**
 * The one resumable read of the publisher, on bodies made here: each test opens bodies that break off, stall, send
 * too much or start over, and checks what the reader passes on and how often it opened a body.
 */
import { ImagePublishError } from '../../lambda/image-publisher/errors';
import { BODY_REOPENS, OpenedBody, readResumably, readWhole, ResumableBody } from '../../lambda/image-publisher/resumable-read';
import { expectRejection } from '../support/rejections';

const DATA = Buffer.from(Array.from({ length: 100 }, (_, i) => i));

/** A body of `bytes` in chunks of 10 that fails (or, with `stall`, waits forever) after `failAfter` bytes. */
function body(bytes: Buffer, options: { failAfter?: number; stall?: boolean; skip?: number } = {}): OpenedBody & { aborted: Error[] } {
  const aborted: Error[] = [];
  let abort: (reason: Error) => void = () => undefined;
  const gone = new Promise<never>((_, reject) => {
    abort = reject;
  });
  gone.catch(() => undefined);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < bytes.length; at += 10) {
      if (options.failAfter !== undefined && at >= options.failAfter) {
        if (options.stall) await gone;
        throw new Error('connection reset');
      }
      yield bytes.subarray(at, at + 10);
    }
  }
  return { chunks: chunks(), skip: options.skip, aborted, abort: (reason) => { aborted.push(reason); abort(reason); } };
}

async function readAll(read: ResumableBody): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of readResumably(read)) parts.push(part);
  return Buffer.concat(parts);
}

beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

test('a body that breaks off is reopened at the byte reached, and the bytes arrive whole and once', async () => {
  const opened: number[] = [];
  const bytes = await readAll({
    what: 'blob',
    size: DATA.length,
    open: async (position) => {
      opened.push(position);
      return opened.length === 1 ? body(DATA, { failAfter: 40 }) : body(DATA.subarray(position));
    },
  });
  expect(bytes.equals(DATA)).toBe(true);
  expect(opened).toEqual([0, 40]);
});

test('a server that answers a reopen with the whole body again: the head already passed on is skipped', async () => {
  let opens = 0;
  const bytes = await readAll({
    what: 'blob',
    size: DATA.length,
    open: async (position) => (++opens === 1 ? body(DATA, { failAfter: 30 }) : body(DATA, { skip: position })),
  });
  expect(bytes.equals(DATA)).toBe(true);
});

test('a body that stalls is given up on after the idle timeout, released and reopened', async () => {
  const first = body(DATA, { failAfter: 20, stall: true });
  let opens = 0;
  const bytes = await readAll({
    what: 'blob',
    size: DATA.length,
    idleTimeoutMs: 50,
    open: async (position) => (++opens === 1 ? first : body(DATA.subarray(position))),
  });
  expect(bytes.equals(DATA)).toBe(true);
  expect(first.aborted.map((e) => e.message)).toContain('no byte for 0.05 s');
});

test('bytes beyond the size are cut for a range and refused for a whole blob', async () => {
  const cut = await readAll({ what: 'range', size: 25, beyondSize: 'cut', open: async () => body(DATA) });
  expect(cut.equals(DATA.subarray(0, 25))).toBe(true);
  const err = await expectRejection(readAll({ what: 'blob x', size: 25, open: async () => body(DATA) }), ImagePublishError);
  expect(err.message).toBe('blob x is longer than the 25 bytes its descriptor says');
});

test(`reopens are bounded: after ${BODY_REOPENS} the read fails, naming what and where`, async () => {
  let opens = 0;
  const err = await expectRejection(readAll({
    what: 'blob y',
    size: DATA.length,
    open: async (position) => {
      opens++;
      return body(DATA.subarray(position), { failAfter: 10 });
    },
  }));
  expect(opens).toBe(BODY_REOPENS + 1);
  expect(err.message).toBe(`reading blob y at byte ${10 * (BODY_REOPENS + 1)}: connection reset`);
});

test('a body that ends early is reopened, and one that keeps ending early fails', async () => {
  let opens = 0;
  const err = await expectRejection(readAll({
    what: 'blob z',
    size: DATA.length,
    open: async (position) => {
      opens++;
      return body(DATA.subarray(position, position + 10));
    },
  }), ImagePublishError);
  expect(opens).toBe(BODY_REOPENS + 1);
  expect(err.message).toBe(`blob z ended at byte ${10 * (BODY_REOPENS + 1)} of 100, ${BODY_REOPENS} times reopened`);
});

test('an empty body is not opened at all', async () => {
  const open = jest.fn();
  expect((await readAll({ what: 'empty', size: 0, open })).length).toBe(0);
  expect(open).not.toHaveBeenCalled();
});

test('a small body read whole is read again from its start when the read breaks off, with the same bound', async () => {
  let reads = 0;
  const { bytes } = await readWhole('manifest', async () => ++reads, async (n) => {
    if (n < 3) throw new Error('connection reset');
    return DATA;
  });
  expect(bytes.equals(DATA)).toBe(true);
  expect(reads).toBe(3);
  let attempts = 0;
  await expectRejection(readWhole('manifest', async () => ++attempts, async () => {
    throw new Error('connection reset');
  }));
  expect(attempts).toBe(BODY_REOPENS + 1);
});
