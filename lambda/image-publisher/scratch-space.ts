/**
 * Temporary files of a publish, in the function's ephemeral storage (`/tmp`): layers compressed at deploy are written
 * there once, as their digest is learnt, and uploaded from there, instead of being compressed a second time. Only
 * what fits is written (the free space is asked of the file system, less what other layers have reserved); a layer
 * that does not fit is compressed twice, as without a scratch space.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { log } from '../shared/log';

/** Left free for everything else that uses /tmp. */
const KEEP_FREE = 16 * 1024 * 1024;

export class ScratchSpace {
  /** A fresh directory under the system's temporary directory; undefined (and a log line) when none can be made. */
  public static open(): ScratchSpace | undefined {
    try {
      // os.tmpdir() reads TMPDIR too, from the process's own environment; reading it here first also follows a
      // harness that gives the handler an environment object of its own (jest does).
      return new ScratchSpace(fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'ecr-public-publish-')));
    } catch (err) {
      log({ scratch: 'unavailable: compressed layers are compressed again to upload', error: String(err) });
      return undefined;
    }
  }

  private reserved = 0;
  private files = 0;

  private constructor(public readonly dir: string) {}

  /** A new file name for up to `bytes` bytes, or undefined when they do not fit; `release` gives the room back. */
  public reserve(bytes: number): string | undefined {
    let free: number;
    try {
      const stats = fs.statfsSync(this.dir);
      free = stats.bavail * stats.bsize;
    } catch {
      return undefined;
    }
    if (free - this.reserved - KEEP_FREE < bytes) return undefined;
    this.reserved += bytes;
    return path.join(this.dir, `blob-${this.files++}`);
  }

  /** `bytes` reserved before are now written (or abandoned): the file system's free space counts them again. */
  public release(bytes: number): void {
    this.reserved -= bytes;
  }

  /** Removes the directory and everything in it. */
  public dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The largest gzip output of `bytes` input bytes (zlib's `deflateBound`, rounded up, with the gzip header and trailer). */
export function gzipBound(bytes: number): number {
  return bytes + Math.ceil(bytes / 4096) + Math.ceil(bytes / 16384) + Math.ceil(bytes / 33554432) + 64;
}
