/**
 * The hand-over's own rules, without a registry: what an event's hand-over may say (anyone allowed to invoke the
 * function can send one), the publish timeout property, and when a run stops starting work.
 */
import { RunDeadline } from '../../lambda/image-publisher/deadline';
import { parseHandOver, publishTimeoutSeconds } from '../../lambda/image-publisher/hand-over';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const VALID = { generation: 2, publishEndsAt: 1_000, blobsDone: 3, bytesDone: 4096, uploads: [{ digest: DIGEST, uploadId: 'u-1', offset: 10, partSize: 5 }] };

describe('parseHandOver', () => {
  test('an event without one is the first run; a valid one is taken field by field', () => {
    expect(parseHandOver(undefined)).toBeUndefined();
    expect(parseHandOver({ ...VALID, extra: 'ignored' })).toEqual(VALID);
  });

  test.each([
    ['not an object', 'x', /is not an object/],
    ['generation 0 (only CloudFormation sends the first run)', { ...VALID, generation: 0 }, /has no valid generation/],
    ['a fractional byte count', { ...VALID, bytesDone: 1.5 }, /has no valid bytesDone/],
    ['no uploads list', { ...VALID, uploads: undefined }, /has no uploads list/],
    ['an upload at offset 0', { ...VALID, uploads: [{ ...VALID.uploads[0], offset: 0 }] }, /invalid uploads\[0\]/],
    ['an upload of a digest that is not sha256', { ...VALID, uploads: [{ ...VALID.uploads[0], digest: 'md5:00' }] }, /invalid uploads\[0\]/],
  ])('refused: %s', (_what, value, message) => {
    expect(() => parseHandOver(value)).toThrow(message);
  });
});

describe('publishTimeoutSeconds', () => {
  test('absent is CloudFormation\'s default hour; whole seconds from 1 to 3600 are taken', () => {
    expect(publishTimeoutSeconds(undefined)).toBe(3600);
    expect(publishTimeoutSeconds('60')).toBe(60);
  });

  test.each(['0', '3601', '1.5', 'soon'])('refused: %j', (value) => {
    expect(() => publishTimeoutSeconds(value)).toThrow(/PublishTimeout must be a whole number of seconds from 1 to 3600/);
  });
});

describe('RunDeadline', () => {
  test('a run keeps a quarter of its time (at least 1.5 s, at most 2 minutes); the publish\'s end comes first when nearer', () => {
    const now = 1_000_000;
    const run = RunDeadline.start(900_000, Infinity, now);
    expect(run.stopping(now + 900_000 - 120_001)).toBeUndefined();
    expect(run.stopping(now + 900_000 - 120_000)).toBe('run');
    const short = RunDeadline.start(4_000, Infinity, now);
    expect(short.stopping(now + 2_499)).toBeUndefined();
    expect(short.stopping(now + 2_500)).toBe('run');
    const ending = RunDeadline.start(900_000, now + 10_000, now);
    expect(ending.stopping(now + 10_000)).toBe('publish');
  });

  test('the publish keeps a tenth of its timeout to answer (at least 3 s, at most a minute); a successor needs a run\'s margin', () => {
    expect(RunDeadline.publishEnd(0, 3600)).toBe(3_540_000);
    expect(RunDeadline.publishEnd(0, 10)).toBe(7_000);
    const now = 0;
    const run = RunDeadline.start(4_000, 2_000, now);
    expect(run.leavesTimeForAnotherRun(now + 500)).toBe(true);
    expect(run.leavesTimeForAnotherRun(now + 501)).toBe(false);
  });
});
