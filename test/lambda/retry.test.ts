/** The handlers' one retry loop: attempts, which outcomes retry, the wait an outcome asks for. No timing: waits are 0. */
import { AttemptOutcome, backoffMs, retry } from '../../lambda/shared/retry';

test('a value that is not retryable ends the retries at once', async () => {
  const calls: number[] = [];
  const result = await retry<number>({ attempts: 5, baseMs: 0, retryable: (o) => !o.ok || o.value >= 500 }, async (n) => {
    calls.push(n);
    return 200;
  });
  expect(result).toEqual({ outcome: { ok: true, value: 200 }, attempts: 1, exhausted: false });
  expect(calls).toEqual([1]);
});

test('retryable outcomes are tried again until one is not, with a call before each wait', async () => {
  const answers = [new Error('reset'), 503, 201];
  const before: Array<[AttemptOutcome<number>, number, number]> = [];
  const result = await retry<number>({
    attempts: 5,
    baseMs: 0,
    retryable: (o) => !o.ok || o.value >= 500,
    beforeRetry: (o, n, wait) => { before.push([o, n, wait]); },
  }, async (n) => {
    const answer = answers[n - 1];
    if (answer instanceof Error) throw answer;
    return answer;
  });
  expect(result).toEqual({ outcome: { ok: true, value: 201 }, attempts: 3, exhausted: false });
  expect(before.map(([o, n]) => [o.ok, n])).toEqual([[false, 1], [true, 2]]);
});

test('when the attempts run out the last outcome is returned, marked exhausted', async () => {
  let calls = 0;
  const result = await retry<number>({ attempts: 3, baseMs: 0, retryable: () => true }, async () => {
    calls++;
    throw new Error(`failure ${calls}`);
  });
  expect(calls).toBe(3);
  expect(result.exhausted).toBe(true);
  expect(result.attempts).toBe(3);
  expect(!result.outcome.ok && (result.outcome.error as Error).message).toBe('failure 3');
});

test('a non-retryable error is returned as it is, not exhausted', async () => {
  const refused = new Error('refused');
  const result = await retry<number>({ attempts: 3, baseMs: 0, retryable: (o) => o.ok }, async () => { throw refused; });
  expect(result).toEqual({ outcome: { ok: false, error: refused }, attempts: 1, exhausted: false });
});

test('the wait an outcome asks for replaces the back-off', async () => {
  const waits: number[] = [];
  await retry<number>({
    attempts: 2,
    baseMs: 10_000,
    retryable: (o) => o.ok && o.value === 429,
    waitMs: () => 0,
    beforeRetry: (_o, _n, wait) => { waits.push(wait); },
  }, async () => 429);
  expect(waits).toEqual([0]);
});

test('the back-off doubles; jitter stays in its upper half', () => {
  expect([1, 2, 3, 4].map((n) => backoffMs(n, 250))).toEqual([250, 500, 1000, 2000]);
  for (let i = 0; i < 50; i++) {
    const wait = backoffMs(3, 500, true);
    expect(wait).toBeGreaterThanOrEqual(1000);
    expect(wait).toBeLessThanOrEqual(2000);
  }
});
