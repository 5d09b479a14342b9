/**
 * A publish longer than one Lambda run: each run watches its deadline (`deadline.ts`); when it nears, the run starts no
 * new blob, leaves the uploads in progress between two parts, and invokes its own function asynchronously with the
 * CloudFormation request plus what is done and what is left (`EcrPublicHandOver`). The next run checks again what the
 * repository has (nothing in the event is taken on trust: a blob counts as there when the registry says so, an upload
 * goes on only where the registry takes its next part, and the digest is checked at completion), goes on with the
 * uploads left, and so on. Only the run that finishes answers CloudFormation; a publish that cannot finish within
 * `publishTimeout` answers FAILED with what was done and what is left, before CloudFormation gives up on it.
 * `hand-over-guard.ts` keeps a re-sent event from starting a second publish beside a continuing one.
 */
import type { ResumableUpload, UploadOptions, UploadResult } from './blob-uploader';
import { RunDeadline, StopReason } from './deadline';
import { ImagePublishError, withContext } from './errors';
import { HandOverGuard } from './hand-over-guard';
import type { ImageProperties } from '../../src/shared/publish-plan';
import { AnswerDeferred, CustomResourceEvent, HandlerContext, HandlerResult } from '../shared/cfn-response';
import { ecrPublicClient } from '../shared/ecr-public-client';
import { invokeAsync } from '../shared/lambda-invoke';
import { log } from '../shared/log';

/** The event field that carries a hand-over; absent from CloudFormation's own events. */
export const HAND_OVER_FIELD = 'EcrPublicHandOver';

/** CloudFormation's default and largest service timeout of a custom resource: one hour. */
export const DEFAULT_PUBLISH_TIMEOUT_SECONDS = 3600;

/** What a run hands over. */
export interface HandOverState {
  /** The run it is handed to: 1 for the second run of the request. */
  readonly generation: number;
  /** When the publish stops to answer FAILED (epoch ms), fixed by the first run. */
  readonly publishEndsAt: number;
  /** Blobs uploaded and bytes sent by the runs before. */
  readonly blobsDone: number;
  readonly bytesDone: number;
  /** Uploads left between two parts, by blob digest. */
  readonly uploads: ReadonlyArray<ResumableUpload & { readonly digest: string }>;
}

/** A blob as the run sees it. */
interface RunBlob {
  readonly digest: string;
  readonly size: number;
}

/** Thrown by `PublishRun.beforeManifests` when blobs are left: the run hands over (or fails, at the publish's end). */
export class HandOverRequired extends Error {
  public readonly name = 'HandOverRequired';

  constructor(
    public readonly reason: StopReason,
    public readonly left: readonly RunBlob[],
    public readonly uploads: HandOverState['uploads'],
  ) {
    super(`${left.length} blob(s) left`);
  }
}

/**
 * One run's part of the publish, as `pushImage` sees it: which uploads to start or go on with, and whether the run
 * ends before the manifests.
 */
export class PublishRun {
  public blobsDone = 0;
  public bytesDone = 0;
  private started = 0;
  private readonly left: RunBlob[] = [];
  private readonly paused: Array<ResumableUpload & { digest: string }> = [];
  private readonly resumes: ReadonlyMap<string, ResumableUpload>;

  constructor(private readonly deadline: RunDeadline, uploads: HandOverState['uploads'] = []) {
    this.resumes = new Map(uploads.map((u) => [u.digest, u]));
  }

  /**
   * Uploads `blob` with `start` (going on with an upload of an earlier run when there is one), unless the run is
   * ending: undefined when the blob is left for the next run (not started, or paused between two parts).
   */
  public async upload(blob: RunBlob, start: (options: UploadOptions) => Promise<UploadResult>): Promise<UploadResult | undefined> {
    // Each run starts one blob at least (and sends one part of it), however late: every run makes progress. At the
    // publish's end nothing is started.
    const stopping = this.deadline.stopping();
    if (stopping === 'publish' || (stopping === 'run' && this.started > 0)) {
      this.left.push(blob);
      return undefined;
    }
    this.started++;
    const shouldPause = (): boolean => this.deadline.stopping() !== undefined;
    const resume = this.resumes.get(blob.digest);
    let result: UploadResult;
    try {
      result = await start({ resume, shouldPause });
    } catch (err) {
      if (!resume) throw err;
      // The registry may have expired the upload, or it is not the one the event says: start the blob over.
      log({ blob: blob.digest, resumeRefused: `${(err as Error).name}: ${(err as Error).message}` });
      result = await start({ shouldPause });
    }
    if (result.outcome === 'paused') {
      this.left.push(blob);
      this.paused.push({ digest: blob.digest, ...result.upload! });
      return undefined;
    }
    this.blobsDone++;
    this.bytesDone += result.bytes;
    return result;
  }

  /**
   * Throws `HandOverRequired` when blobs are left, or when the run is ending: the manifests and tags are put by a run
   * that has the time to put them all.
   */
  public beforeManifests(): void {
    const reason = this.deadline.stopping();
    if (this.left.length > 0 || reason !== undefined) throw new HandOverRequired(reason ?? 'run', this.left, this.paused);
  }
}

/** The publish function of the handler, given the run (undefined outside Lambda, and for Deletes). */
export type ContinuableHandler = (event: CustomResourceEvent<ImageProperties>, run: PublishRun | undefined) => Promise<HandlerResult>;

/**
 * `fn` run as one step of a publish that may take several runs: it hands over when the run ends first, answers
 * nothing for a stale event, and fails with what is done and left at the publish's end.
 */
export function continuedAcrossRuns(
  fn: ContinuableHandler,
): (event: CustomResourceEvent<ImageProperties>, context?: HandlerContext) => Promise<HandlerResult> {
  return async (event, context) => {
    if (event.RequestType === 'Delete' || context === undefined) return fn(event, undefined);
    const state = parseHandOver((event as unknown as Record<string, unknown>)[HAND_OVER_FIELD]);
    const timeoutSeconds = publishTimeoutSeconds(event.ResourceProperties.PublishTimeout);
    const generation = state?.generation ?? 0;
    // A hand-over cannot move the publish's end past what its timeout allows from now.
    const publishEndsAt = Math.min(state?.publishEndsAt ?? Infinity, RunDeadline.publishEnd(Date.now(), timeoutSeconds));
    const ecr = ecrPublicClient();
    let guard: HandOverGuard;
    try {
      guard = await HandOverGuard.open(ecr, event.ResourceProperties.RepositoryName, event);
      const stale = guard.staleReason(generation);
      if (stale !== undefined) throw new AnswerDeferred(stale);
      if (generation > 0) await guard.claim(generation);
    } catch (err) {
      ecr.destroy();
      throw err;
    }
    const deadline = RunDeadline.start(context.getRemainingTimeInMillis(), publishEndsAt);
    const run = new PublishRun(deadline, state?.uploads);
    log({ run: generation, publishEndsAt: new Date(publishEndsAt).toISOString(), resuming: state?.uploads.length ?? 0 });
    try {
      const result = await fn(event, run);
      const after = result.afterResponse;
      return {
        ...result,
        afterResponse: !guard.recorded ? after : async () => {
          await guard.release();
          await after?.();
        },
      };
    } catch (err) {
      if (!(err instanceof HandOverRequired)) {
        if (guard.recorded) await guard.release();
        throw err;
      }
      const done = { blobsDone: (state?.blobsDone ?? 0) + run.blobsDone, bytesDone: (state?.bytesDone ?? 0) + run.bytesDone };
      if (err.reason === 'publish' || !deadline.leavesTimeForAnotherRun()) {
        await guard.release();
        throw new ImagePublishError(`the publish did not finish within its publishTimeout of ${timeoutSeconds} s, in ${generation + 1} run(s): `
          + `done: ${done.blobsDone} blob(s), ${done.bytesDone} bytes uploaded; left: ${describeLeft(err)}; the manifests and tags are not put. `
          + 'Raise publishTimeout (up to one hour), memorySize or concurrency, or publish the image in parts (a smaller base first).');
      }
      const next: HandOverState = { generation: generation + 1, publishEndsAt, ...done, uploads: err.uploads };
      // Recorded before the invocation: a retry of this run then knows its successor by the tag the successor writes.
      await guard.claim(generation);
      try {
        await invokeAsync(context.invokedFunctionArn, { ...event, [HAND_OVER_FIELD]: next });
      } catch (invokeErr) {
        await guard.release();
        throw withContext(invokeErr, `handing the publish over to a new run of ${context.invokedFunctionArn} (left: ${describeLeft(err)})`);
      }
      log({ handedOver: next.generation, left: err.left.length, uploadsInProgress: err.uploads.length, ...done });
      throw new AnswerDeferred(`handed over to run ${next.generation}: ${describeLeft(err)} left`);
    } finally {
      ecr.destroy();
    }
  };
}

function describeLeft(err: HandOverRequired): string {
  const bytes = err.left.reduce((n, b) => n + b.size, 0);
  const uploads = err.uploads.map((u) => `blob ${u.digest} at byte ${u.offset}`).join(', ');
  return `${err.left.length} blob(s) of ${bytes} bytes${uploads ? ` (in progress: ${uploads})` : ''}`;
}

/** The `PublishTimeout` property (seconds, as CloudFormation sends numbers: text). */
export function publishTimeoutSeconds(value: unknown): number {
  if (value === undefined) return DEFAULT_PUBLISH_TIMEOUT_SECONDS;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > DEFAULT_PUBLISH_TIMEOUT_SECONDS) {
    throw new ImagePublishError(`PublishTimeout must be a whole number of seconds from 1 to ${DEFAULT_PUBLISH_TIMEOUT_SECONDS}, not ${JSON.stringify(value)}`);
  }
  return seconds;
}

/** The hand-over of an event, checked field by field (anyone allowed to invoke the function can send one). */
export function parseHandOver(value: unknown): HandOverState | undefined {
  if (value === undefined) return undefined;
  const bad = (why: string): never => {
    throw new ImagePublishError(`the event's ${HAND_OVER_FIELD} ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('is not an object');
  const v = value as Record<string, unknown>;
  const count = (name: string, min: number): number => {
    const n = v[name];
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= min ? n : bad(`has no valid ${name}`);
  };
  if (!Array.isArray(v.uploads)) return bad('has no uploads list');
  const uploads = v.uploads.map((u: unknown, i) => {
    const r = (typeof u === 'object' && u !== null ? u : {}) as Record<string, unknown>;
    const ok = typeof r.digest === 'string' && /^sha256:[a-f0-9]{64}$/.test(r.digest) && typeof r.uploadId === 'string' && r.uploadId !== ''
      && Number.isSafeInteger(r.offset) && (r.offset as number) > 0 && Number.isSafeInteger(r.partSize) && (r.partSize as number) > 0;
    return ok ? { digest: r.digest as string, uploadId: r.uploadId as string, offset: r.offset as number, partSize: r.partSize as number }
      : bad(`has an invalid uploads[${i}]`);
  });
  return {
    generation: count('generation', 1),
    publishEndsAt: count('publishEndsAt', 0),
    blobsDone: count('blobsDone', 0),
    bytesDone: count('bytesDone', 0),
    uploads,
  };
}
