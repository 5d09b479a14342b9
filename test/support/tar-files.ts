/**
 * Tar files for the tests of the synth-time archive inspector: `tarBytes` writes a ustar tar here, independently of the
 * code under test, so that it can hold what no well-behaved tool writes; `tarDirectory` uses the system tar;
 * `gzipFile` compresses with node's zlib.
 */
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { run } from './run-tool';

/** One entry of a tar written by `tarBytes`. */
export interface TarSpec {
  readonly name: string;
  readonly type?: 'file' | 'directory' | 'symlink' | 'hardlink';
  readonly data?: string | Buffer;
  readonly linkname?: string;
  /** The size written in the header when it must differ from the data's (a corrupt or hostile archive). */
  readonly declaredSize?: number;
}

const TAR_TYPEFLAGS = { file: '0', hardlink: '1', symlink: '2', directory: '5' } as const;

/**
 * A ustar tar, written here independently of the code under test so that it can hold what no well-behaved tool
 * writes (`..` names, links out of the archive, sizes that lie). Without `trailer: false` it ends with two zero blocks.
 */
export function tarBytes(entries: readonly TarSpec[], options: { trailer?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const data = Buffer.from(entry.data ?? '');
    const header = Buffer.alloc(512);
    const put = (offset: number, length: number, value: string): void => {
      const bytes = Buffer.from(value, 'utf8');
      if (bytes.length > length) throw new Error(`tarBytes: ${JSON.stringify(value)} does not fit in ${length} bytes`);
      bytes.copy(header, offset);
    };
    const octal = (offset: number, length: number, value: number): void => put(offset, length, value.toString(8).padStart(length - 1, '0') + '\0');
    put(0, 100, entry.name);
    octal(100, 8, type === 'directory' ? 0o755 : 0o644);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, entry.declaredSize ?? (type === 'file' ? data.length : 0));
    octal(136, 12, 0);
    put(156, 1, TAR_TYPEFLAGS[type]);
    put(157, 100, entry.linkname ?? '');
    put(257, 8, 'ustar\u000000');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    parts.push(header);
    if (type === 'file' && data.length > 0) parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (options.trailer !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Tars the content of `dir` into `out` with the system tar, deterministically (sorted names, owner 0, mtime 0). */
export async function tarDirectory(dir: string, out: string, format: 'gnu' | 'pax' | 'ustar' = 'gnu'): Promise<void> {
  await run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', `--format=${format}`, '-cf', out, '-C', dir, '.']);
}

/** gzip-compresses `src` into `dst` with node's zlib (streaming). */
export async function gzipFile(src: string, dst: string): Promise<void> {
  await pipeline(fs.createReadStream(src), createGzip(), fs.createWriteStream(dst));
}
