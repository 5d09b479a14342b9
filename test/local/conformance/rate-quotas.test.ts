import { createRepo, expectRawError, rawCall, start, stop } from './support';
import { RATE_QUOTAS, RateQuotas } from '../../../local/rate-quotas';

describe('rate quotas', () => {
  test('at most the documented number of calls in any one-second window, per operation; others unlimited', () => {
    let now = 0;
    const quotas = new RateQuotas(() => now);
    const admitted = (operation: string, calls: number) => Array.from({ length: calls }, () => quotas.admit(operation)).filter(Boolean).length;
    expect(admitted('InitiateLayerUpload', 15)).toBe(10);
    expect(admitted('UploadLayerPart', 300)).toBe(260);
    expect(admitted('CreateRepository', 1000)).toBe(1000);
    // Still within the second of the first calls: nothing more; refused calls do not count.
    now = 999;
    expect(quotas.admit('InitiateLayerUpload')).toBe(false);
    now = 1000;
    expect(admitted('InitiateLayerUpload', 15)).toBe(10);
    expect(quotas.admit('PutImage')).toBe(true);
    expect(RATE_QUOTAS.get('CompleteLayerUpload')).toBe(10);
    expect(RATE_QUOTAS.get('BatchCheckLayerAvailability')).toBe(200);
  });

  test('an emulator started with them answers calls beyond a quota with ThrottlingException', async () => {
    const h = await start({ rateQuotas: true });
    try {
      const repositoryName = await createRepo(h.client);
      const answers = await Promise.all(Array.from({ length: 30 }, () => rawCall(h.emu, 'InitiateLayerUpload', { body: { repositoryName } })));
      const ok = answers.filter((a) => a.status === 200);
      const throttled = answers.filter((a) => a.status !== 200);
      expect(ok.length).toBeGreaterThanOrEqual(10);
      expect(throttled.length).toBeGreaterThan(0);
      for (const answer of throttled) expectRawError(answer, 'ThrottlingException');
    } finally {
      await stop(h);
    }
  });

  test('without the option, there is no rate limit', async () => {
    const h = await start();
    try {
      const repositoryName = await createRepo(h.client);
      const answers = await Promise.all(Array.from({ length: 30 }, () => rawCall(h.emu, 'InitiateLayerUpload', { body: { repositoryName } })));
      expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
    } finally {
      await stop(h);
    }
  });
});
