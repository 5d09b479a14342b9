/** Synchronous file hashing and copying in fixed-size chunks: image layers can be gigabytes, never read them whole. */
import { createHash } from 'crypto';
import * as fs from 'fs';

const CHUNK = 1024 * 1024;

/** Hex sha256 of a file's content. */
export function hashFile(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK);
    for (let position = 0; ;) {
      const n = fs.readSync(fd, buffer, 0, CHUNK, position);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      position += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Writes all of `data` to `fd` (writeSync may write less than asked). */
export function writeAll(fd: number, data: Buffer): void {
  for (let done = 0; done < data.length;) done += fs.writeSync(fd, data, done, data.length - done);
}

/**
 * Appends the content of `file` to `fd`; throws when it is not `size` bytes
 * (the file changed since it was inspected).
 */
export function copyFileInto(fd: number, file: string, size: number): void {
  const input = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(CHUNK, Math.max(size, 1)));
    let copied = 0;
    for (;;) {
      const n = fs.readSync(input, buffer, 0, buffer.length, copied);
      if (n === 0) break;
      if (copied + n > size) break;
      writeAll(fd, buffer.subarray(0, n));
      copied += n;
    }
    const actual = fs.fstatSync(input).size;
    if (copied !== size || actual !== size) throw new Error(`${file} changed while it was being copied (${actual} bytes now, ${size} expected)`);
  } finally {
    fs.closeSync(input);
  }
}
