/**
 * Packing the files an image needs from a layout directory into one deterministic, uncompressed tar in the staging
 * directory: the asset the publisher reads blobs from by byte range. Determinism (sorted names, fixed metadata) and a
 * content-derived file name mean that re-synthesising an unchanged image reuses the same file and the same asset hash.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DirectoryFile } from './archive-files';
import { copyFileInto, hashFile, writeAll } from './chunked-io';
import { BLOCK, encodeFileHeader, padded } from './tar-header';

/** Bumped when the tar layout written here changes, so that old staged files are not reused. */
const FORMAT = 'cdk-ecr-public layout tar v1';

/** Where synth stages the tars it writes (a repacked layout, a decompressed archive, attached files). */
export function defaultStagingDir(): string {
  return path.join(os.tmpdir(), 'cdk-ecr-public-staging');
}

/** A packed tar and where each file's data starts in it. */
export interface PackedTar {
  readonly path: string;
  /** Data offset by file name. */
  readonly offsets: ReadonlyMap<string, number>;
}

/**
 * Writes `files` (deduplicated by name, sorted) to `<stagingDir>/layout-<hash>.tar`, unless a complete file of that
 * name exists. `digests` gives the content digest of files known by digest (blobs); other files (`index.json`, ...) are
 * hashed. The hash covers every name, size and content digest, so equal names mean equal content.
 */
export function packLayout(files: readonly DirectoryFile[], digests: ReadonlyMap<string, string>, stagingDir: string): PackedTar {
  const byName = new Map<string, DirectoryFile>();
  for (const file of files) byName.set(file.name, file);
  const sorted = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const key = createHash('sha256').update(FORMAT);
  const offsets = new Map<string, number>();
  const headers = new Map<string, Buffer>();
  let position = 0;
  for (const file of sorted) {
    const header = encodeFileHeader(file.name, file.size);
    headers.set(file.name, header);
    position += header.length;
    offsets.set(file.name, position);
    position += padded(file.size);
    const content = digests.get(file.name) ?? `sha256:${hashFile(file.path)}`;
    key.update(`\n${JSON.stringify([file.name, file.size, content])}`);
  }
  const total = position + 2 * BLOCK;

  fs.mkdirSync(stagingDir, { recursive: true });
  const target = path.join(stagingDir, `layout-${key.digest('hex')}.tar`);
  if (fs.existsSync(target) && fs.statSync(target).size === total) return { path: target, offsets };

  const temp = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = fs.openSync(temp, 'w');
    try {
      for (const file of sorted) {
        writeAll(fd, headers.get(file.name)!);
        copyFileInto(fd, file.path, file.size);
        writeAll(fd, Buffer.alloc(padded(file.size) - file.size));
      }
      writeAll(fd, Buffer.alloc(2 * BLOCK));
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, target);
  } finally {
    fs.rmSync(temp, { force: true });
  }
  return { path: target, offsets };
}
