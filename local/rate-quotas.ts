/**
 * ECR Public's documented rate quotas (the service-quotas page: calls per second per account), enforced when the
 * emulator is started with them: a call beyond its operation's quota is answered with ThrottlingException, as the
 * service does, so that a client's concurrency can be tried against what AWS allows.
 *
 * The service documents rates, not how it counts them. The emulator takes the strict reading: at most N calls of an
 * operation in any window of one second (no burst above the rate, no credit saved up while idle).
 */

/** Calls per second, by operation; operations without a documented rate are not limited. */
export const RATE_QUOTAS: ReadonlyMap<string, number> = new Map([
  ['BatchCheckLayerAvailability', 200],
  ['CompleteLayerUpload', 10],
  ['GetAuthorizationToken', 200],
  ['InitiateLayerUpload', 10],
  ['PutImage', 10],
  ['UploadLayerPart', 260],
]);

const WINDOW_MS = 1000;

export class RateQuotas {
  /** Per operation: the times of the calls admitted within the last window, oldest first. */
  private readonly admitted = new Map<string, number[]>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Whether a call of `operation` fits within its quota now; a call that fits is counted. */
  public admit(operation: string): boolean {
    const rate = RATE_QUOTAS.get(operation);
    if (rate === undefined) return true;
    const now = this.now();
    let times = this.admitted.get(operation);
    if (!times) this.admitted.set(operation, times = []);
    while (times.length > 0 && times[0] <= now - WINDOW_MS) times.shift();
    if (times.length >= rate) return false;
    times.push(now);
    return true;
  }
}
