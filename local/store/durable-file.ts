/**
 * Checked, durable file writes: the one place where the emulator's store and the deployer's state write to disk.
 *
 * `fs.writeSync` may write fewer bytes than it was given (a full disk does this before it fails with ENOSPC); every
 * write here loops until all bytes are written and turns any failure into a {@link StorageError}. A file replaced is
 * written to a temporary name in the same directory, flushed (fsync), renamed over the target, and the directory is
 * flushed too, so that after a crash of the process or of the machine the target holds either the previous content or
 * the new one, never a part of it. A failure leaves the target as it was and removes the temporary file.
 */
import * as fs from 'fs';
import * as path from 'path';

/**
 * The disk refused a write (a full disk, an I/O error, a short write): what was asked was not stored, and whatever
 * depended on it was undone. The emulator answers it as a server-side failure.
 */
export class StorageError extends Error {
  constructor(message: string, public readonly cause?: unknown) {
    super(message);
    this.name = 'StorageError';
  }
}

/** A {@link StorageError} for `err`, raised while doing `what`. */
export function storageError(what: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new StorageError(`The emulator could not ${what}: ${detail}`, err);
}

/** Writes all of `bytes` to `fd` at `position` (or at the file position), looping on short writes. */
export function writeFully(fd: number, bytes: Uint8Array, position?: number): void {
  let written = 0;
  while (written < bytes.length) {
    const n = fs.writeSync(fd, bytes, written, bytes.length - written, position === undefined ? null : position + written);
    // A write that makes no progress would loop forever: the disk takes no more.
    if (n <= 0) throw new StorageError(`short write: ${written} of ${bytes.length} bytes written`);
    written += n;
  }
}

/** Flushes a directory, so that the names created, renamed or removed in it survive a crash of the machine. */
export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** How a file is written. */
export interface WriteOptions {
  /**
   * Flush the file and its directory to disk. Off only for what a crash of the machine makes meaningless anyway (a
   * lock file, whose holder such a crash ends): the write stays checked and atomic.
   * @default true
   */
  readonly durable?: boolean;
}

/**
 * Replaces (or creates) `target` with `bytes`, durably and atomically: temporary file in the same directory, fsync,
 * rename, fsync of the directory. On any failure the target is untouched and a {@link StorageError} is thrown.
 */
export function replaceFile(target: string, bytes: Uint8Array, options: WriteOptions = {}): void {
  const durable = options.durable ?? true;
  let tmp: string | undefined;
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    tmp = writeTemporary(target, bytes, options);
    fs.renameSync(tmp, target);
    if (durable) syncDirectory(path.dirname(target));
  } catch (err) {
    if (tmp) fs.rmSync(tmp, { force: true });
    throw storageError(`write ${target}`, err);
  }
}

/**
 * Writes `bytes` to a new, flushed (unless not `durable`) temporary file beside `target` (`.<name>.<pid>.<random>.tmp`,
 * which readers of the directory skip) and returns its name; on failure nothing is left and the error is thrown.
 */
export function writeTemporary(target: string, bytes: Uint8Array, options: WriteOptions = {}): string {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = fs.openSync(tmp, 'wx');
  try {
    try {
      writeFully(fd, bytes, 0);
      if (options.durable ?? true) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return tmp;
}

/** Removes `target` (if present) and flushes its directory. */
export function removeFile(target: string): void {
  try {
    fs.rmSync(target, { force: true });
    syncDirectory(path.dirname(target));
  } catch (err) {
    throw storageError(`remove ${target}`, err);
  }
}
