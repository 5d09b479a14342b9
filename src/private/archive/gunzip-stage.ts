/**
 * Decompressing a gzip-compressed image archive into the staging directory. CDK constructors are synchronous and
 * Node has no synchronous streaming gunzip (`zlib.gunzipSync` would hold the whole archive in memory), so a child Node
 * process streams it to disk while this one waits.
 */
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { hashFile } from './chunked-io';

/**
 * The child's program: argv[1] is the gzip file, argv[2] the output, argv[3] the most bytes the output may have;
 * failure → message on stderr and exit status 1 (exit status 3 when the output would exceed its bound).
 */
const GUNZIP_SCRIPT = `
const fs = require('fs');
const zlib = require('zlib');
const { pipeline, Transform } = require('stream');
const [src, dst, max] = process.argv.slice(1);
let written = 0;
const bound = new Transform({
  transform(chunk, _enc, done) {
    written += chunk.length;
    if (written > Number(max)) { process.stderr.write('over ' + max); process.exit(3); }
    done(null, chunk);
  },
});
pipeline(fs.createReadStream(src), zlib.createGunzip(), bound, fs.createWriteStream(dst), (err) => {
  if (err) { process.stderr.write(String(err && err.message || err)); process.exit(1); }
});
`;

/** Exit status of the child when the output would exceed its bound. */
const OVER_BOUND = 3;

/**
 * The most a gzip image archive may decompress to unless told otherwise: 100 times its size, and at least 256 MiB.
 * Image archives hold mostly compressed layers (about 1:1) or uncompressed ones (a few times their gzip); only a file
 * made to inflate (runs of one byte) comes near gzip's 1:1032.
 */
export function defaultDecompressedBound(compressedBytes: number): number {
  return Math.max(256 * 1024 * 1024, 100 * compressedBytes);
}

/** Compression formats recognised by their first bytes, to tell the user what the archive is when it is not gzip. */
const OTHER_COMPRESSIONS: ReadonlyArray<[string, Buffer]> = [
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['bzip2', Buffer.from('BZh', 'latin1')],
];

/** The first `n` bytes of a file (fewer if it is shorter). */
function head(file: string, n: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(n);
    return buffer.subarray(0, fs.readSync(fd, buffer, 0, n, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * How the file is compressed as a whole: `gzip` (magic 1f 8b), `none`, or throws (naming `label`) for compression
 * formats that are recognised but not supported.
 */
export function compressionOf(file: string, label: string): 'gzip' | 'none' {
  const magic = head(file, 6);
  if (magic.length >= 2 && magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  for (const [name, signature] of OTHER_COMPRESSIONS) {
    if (magic.length >= signature.length && magic.subarray(0, signature.length).equals(signature)) {
      throw new Error(`${label}: is a ${name}-compressed file; only uncompressed or gzip-compressed image archives are supported`);
    }
  }
  return 'none';
}

/**
 * Decompresses the gzip file `source` to `<stagingDir>/gunzip-<sha256 of source>.tar` and returns that path. The name
 * comes from the compressed content, so a re-synth of the same archive reuses the file; it is written under a temporary
 * name and renamed when complete, so an existing file is always whole. Throws, naming `label`, when the child fails
 * (corrupt or truncated gzip data), or when the output would exceed `maxBytes` (nothing is left behind).
 */
export function gunzipToStaging(source: string, stagingDir: string, label: string, maxBytes: number): string {
  fs.mkdirSync(stagingDir, { recursive: true });
  const target = path.join(stagingDir, `gunzip-${hashFile(source)}.tar`);
  if (fs.existsSync(target)) return target;
  const temp = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    const result = spawnSync(process.execPath, ['-e', GUNZIP_SCRIPT, path.resolve(source), temp, String(maxBytes)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // process.execPath is Node itself, except in Electron-based runners, where this makes it behave as Node.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      windowsHide: true,
    });
    if (result.error) throw new Error(`${label}: could not run ${process.execPath} to decompress it: ${result.error.message}`);
    if (result.status === OVER_BOUND) {
      throw new Error(`${label}: decompresses to more than ${maxBytes} bytes, the most this archive of ${fs.statSync(source).size} bytes `
        + 'may hold (100 times its size, at least 256 MiB); an image archive that truly holds more: raise maxDecompressedSize');
    }
    if (result.status !== 0) {
      const why = result.stderr?.toString('utf8').trim() || (result.signal ? `signal ${result.signal}` : `exit status ${result.status}`);
      throw new Error(`${label}: gzip decompression failed: ${why}`);
    }
    fs.renameSync(temp, target);
  } finally {
    fs.rmSync(temp, { force: true });
  }
  return target;
}
