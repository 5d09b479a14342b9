/**
 * Logging of a publish: one JSON line per event (CloudWatch Logs Insights can query the fields), per-blob progress at
 * every tenth of the blob, and the counters of the final summary.
 */
import { log } from '../shared/log';

/** What a blob's bytes are being streamed for: learning a compressed digest, or uploading. */
export type BlobPhase = 'compress' | 'upload';

/** Progress of one blob: a `start` line, a line each time another tenth is done, and a `done` line. */
export class BlobProgress {
  private readonly started = Date.now();
  private bytes = 0;
  private nextTenth = 1;

  constructor(
    private readonly digest: string,
    private readonly phase: BlobPhase,
    /** The bytes expected (for a compressed upload: the compressed size learnt by the first pass). */
    private readonly size: number,
  ) {
    log({ blob: digest, phase, event: 'start', size });
  }

  /** `n` more bytes are done. */
  public advance(n: number): void {
    this.bytes += n;
    if (this.size <= 0) return;
    const tenths = Math.min(10, Math.floor((this.bytes * 10) / this.size));
    if (tenths >= this.nextTenth && tenths < 10) {
      this.nextTenth = tenths + 1;
      log({ blob: this.digest, phase: this.phase, event: 'progress', percent: tenths * 10, bytes: this.bytes, size: this.size });
    }
  }

  /** The blob is finished; `outcome` says how (uploaded, already present, measured). */
  public done(outcome: string, extra: Record<string, unknown> = {}): void {
    const seconds = (Date.now() - this.started) / 1000;
    log({ blob: this.digest, phase: this.phase, event: 'done', outcome, bytes: this.bytes, seconds: round(seconds), ...extra });
  }
}

/** Counters of one publish, logged as the final summary. */
export class PublishStats {
  private readonly started = Date.now();
  public blobsUploaded = 0;
  public blobsSkipped = 0;
  public blobsCompressed = 0;
  public bytesUploaded = 0;
  public partsUploaded = 0;
  /** Parts whose answer was lost, found already received through `InvalidLayerPartException`. */
  public partsResumed = 0;
  public manifestsPut = 0;
  public tagsPut = 0;

  /** The summary line's fields (also returned, so that callers and tests can use them). */
  public summary(): Record<string, number> {
    const seconds = (Date.now() - this.started) / 1000;
    return {
      blobsUploaded: this.blobsUploaded,
      blobsSkipped: this.blobsSkipped,
      blobsCompressed: this.blobsCompressed,
      bytesUploaded: this.bytesUploaded,
      partsUploaded: this.partsUploaded,
      partsResumed: this.partsResumed,
      manifestsPut: this.manifestsPut,
      tagsPut: this.tagsPut,
      seconds: round(seconds),
      mbPerSecond: seconds > 0 ? round(this.bytesUploaded / 1e6 / seconds) : 0,
    };
  }

  /** Logs the summary line. */
  public logSummary(extra: Record<string, unknown> = {}): Record<string, number> {
    const summary = this.summary();
    log({ summary: { ...summary, ...extra } });
    return summary;
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
