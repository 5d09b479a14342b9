/**
 * The files of an image archive, whether it is a tar or a directory: the image walkers (`oci-walk.ts`,
 * `docker-save.ts`) find and read files through this interface and never touch paths themselves, so the checks that keep
 * them inside the archive live here and in `tar-scan.ts` only.
 */
import * as fs from 'fs';
import * as path from 'path';
import { canonicalName } from './entry-names';
import { readAt, resolveEntry, scanTar, TarIndex } from './tar-scan';

/** A regular file of an archive. */
export interface ArchiveFile {
  /** The canonical name it was found by (for a link: the link's name, not the target's). */
  readonly name: string;
  readonly size: number;
}

/** A file in a tar: its data is at `offset` in the tar. */
export interface TarFile extends ArchiveFile {
  readonly offset: number;
}

/** A file of a directory: `path` is its real (symlink-free) path, inside the directory. */
export interface DirectoryFile extends ArchiveFile {
  readonly path: string;
}

/** Read access to the files of an archive. */
export interface ArchiveFiles<F extends ArchiveFile = ArchiveFile> {
  /** Names the archive in messages. */
  readonly label: string;
  /**
   * The regular file at `name` (a name as written in the archive's own metadata; it is made canonical here), or
   * undefined when there is none. Throws for unsafe names and for links that dangle or lead outside the archive.
   */
  find(name: string): F | undefined;
  /** The whole content of `file`, which must be at most `limit` bytes (`what` says what it is, for the message). */
  read(file: F, limit: number, what: string): Buffer;
}

function canonical(label: string, name: string): string {
  try {
    return canonicalName(name);
  } catch (e) {
    throw new Error(`${label}: unsafe ${(e as Error).message}`);
  }
}

function checkLimit(label: string, file: ArchiveFile, limit: number, what: string): void {
  if (file.size > limit) throw new Error(`${label}: ${what} ${file.name} is ${file.size} bytes, more than the ${limit} bytes allowed`);
}

/** The files of a tar archive, indexed once by `scanTar`. */
export class TarFiles implements ArchiveFiles<TarFile> {
  /** Scans `tarPath` (named `label` in messages). */
  public static scan(tarPath: string, label: string): TarFiles {
    return new TarFiles(scanTar(tarPath, label), label);
  }

  private constructor(private readonly index: TarIndex, public readonly label: string) {}

  public find(name: string): TarFile | undefined {
    const canon = canonical(this.label, name);
    const entry = resolveEntry(this.index, canon, this.label);
    return entry && { name: canon, size: entry.size, offset: entry.offset };
  }

  public read(file: TarFile, limit: number, what: string): Buffer {
    checkLimit(this.label, file, limit, what);
    const fd = fs.openSync(this.index.file, 'r');
    try {
      return readAt(fd, file.size, file.offset, this.label);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** The files of a directory (an OCI image layout): symlinks are followed by the OS, and must stay inside it. */
export class DirectoryFiles implements ArchiveFiles<DirectoryFile> {
  private readonly root: string;

  constructor(dir: string, public readonly label: string) {
    this.root = fs.realpathSync(dir);
  }

  public find(name: string): DirectoryFile | undefined {
    const canon = canonical(this.label, name);
    if (canon === '') return undefined;
    const lexical = path.join(this.root, ...canon.split('/'));
    let real: string;
    try {
      real = fs.realpathSync(lexical);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
      // realpath fails both for a missing file and for a dangling symlink: only the first is "not there".
      if (isSymlink(lexical)) throw new Error(`${this.label}: ${canon} is a symlink to a file that does not exist`);
      return undefined;
    }
    if (!real.startsWith(this.root + path.sep)) throw new Error(`${this.label}: ${canon} resolves to ${real}, outside the directory`);
    const stat = fs.statSync(real);
    if (!stat.isFile()) throw new Error(`${this.label}: ${canon} is not a regular file`);
    return { name: canon, size: stat.size, path: real };
  }

  public read(file: DirectoryFile, limit: number, what: string): Buffer {
    checkLimit(this.label, file, limit, what);
    const fd = fs.openSync(file.path, 'r');
    try {
      return readAt(fd, file.size, 0, `${this.label}: ${file.name}`);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
