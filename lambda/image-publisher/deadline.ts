/**
 * When a run of the publisher stops starting new work: before Lambda stops the run (leaving room to hand over or to
 * answer), or before the publish's own deadline (`publishTimeout`, leaving room to answer CloudFormation FAILED before
 * it gives up on the resource), whichever comes first.
 */

/** A run keeps this share of its time for what follows the last part it sends (a part in flight, the hand-over). */
const RUN_MARGIN_SHARE = 0.25;
/** A part in flight and the two calls of a hand-over, on a slow link. */
const MIN_RUN_MARGIN_MS = 1_500;
const MAX_RUN_MARGIN_MS = 120_000;

/** The publish keeps this share of its timeout to answer FAILED. */
const PUBLISH_MARGIN_SHARE = 0.1;
/** The answer, after the part in flight and removing the hand-over tag. */
const MIN_PUBLISH_MARGIN_MS = 3_000;
const MAX_PUBLISH_MARGIN_MS = 60_000;

/** Why a run stops. */
export type StopReason = 'run' | 'publish';

export class RunDeadline {
  /**
   * The deadline of a run that Lambda stops `remainingMs` from now, of a publish that must be over by `publishEndsAt`
   * (epoch ms).
   */
  public static start(remainingMs: number, publishEndsAt: number, now = Date.now()): RunDeadline {
    const margin = Math.min(MAX_RUN_MARGIN_MS, Math.max(MIN_RUN_MARGIN_MS, remainingMs * RUN_MARGIN_SHARE));
    return new RunDeadline(now + remainingMs - margin, publishEndsAt, margin);
  }

  /** When a publish that starts at `startedAt` (epoch ms) with `timeoutSeconds` stops to answer FAILED. */
  public static publishEnd(startedAt: number, timeoutSeconds: number): number {
    const ms = timeoutSeconds * 1000;
    return startedAt + ms - Math.min(MAX_PUBLISH_MARGIN_MS, Math.max(MIN_PUBLISH_MARGIN_MS, ms * PUBLISH_MARGIN_SHARE));
  }

  private constructor(
    /** When this run stops starting work (epoch ms). */
    private readonly runStopsAt: number,
    /** When the whole publish stops (epoch ms). */
    public readonly publishEndsAt: number,
    /** What this run keeps after it stops starting work. */
    private readonly marginMs: number,
  ) {}

  /**
   * Whether a run started now would have time for some work before the publish's end (its start costs as much as
   * the end of a run): when not, the publish ends here rather than in a successor that would only start.
   */
  public leavesTimeForAnotherRun(now = Date.now()): boolean {
    return this.publishEndsAt - now >= this.marginMs;
  }

  /** Whether to start nothing more, and why; undefined while there is time. */
  public stopping(now = Date.now()): StopReason | undefined {
    if (now >= this.publishEndsAt) return 'publish';
    if (now >= this.runStopsAt) return 'run';
    return undefined;
  }
}
