/**
 * Synchronous tar scanning: reads only headers (and the small data of GNU long-name and PAX entries) with positioned
 * reads, skipping over file data, so that a multi-gigabyte image archive is indexed by reading a few kilobytes.
 * Entries are looked up by canonical name; symbolic and hard links are followed within the archive.
 */
import * as fs from 'fs';
import { canonicalName, symlinkTarget } from './entry-names';
import { BLOCK, checksumMatches, decodeHeader, isZeroBlock, padded, parsePaxRecords } from './tar-header';

/** Kinds of entry the scanner distinguishes; everything else (devices, fifos, GNU extensions) is `other`. */
export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

/** One entry of a scanned tar. */
export interface TarEntry {
  /** Canonical name (see `canonicalName`). */
  readonly name: string;
  readonly type: TarEntryType;
  /** Offset of the entry's data in the tar file. */
  readonly offset: number;
  /** Data size in bytes (0 for links and directories). */
  readonly size: number;
  /** For links: the canonical name of the entry the link points at (a symlink's target made relative to the root). */
  readonly target?: string;
}

/** The entries of a tar file, by canonical name (a later entry of the same name replaces an earlier one, as in tar). */
export interface TarIndex {
  readonly file: string;
  readonly fileSize: number;
  readonly entries: ReadonlyMap<string, TarEntry>;
}

/** GNU long names and PAX records are at most this large here: real ones are a few hundred bytes. */
const MAX_META_BYTES = 1024 * 1024;
/** Links followed while resolving one name before it is called a loop. */
const MAX_LINK_HOPS = 40;

/** Reads exactly `length` bytes at `position` or throws: the scanner has already checked they are within the file. */
export function readAt(fd: number, length: number, position: number, where: string): Buffer {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const n = fs.readSync(fd, buffer, filled, length - filled, position + filled);
    if (n === 0) throw new Error(`${where}: unexpected end of file at offset ${position + filled}`);
    filled += n;
  }
  return buffer;
}

function entryType(typeflag: string, rawName: string): TarEntryType {
  switch (typeflag) {
    case '0':
    case '7': // contiguous file: a regular file to everyone but a few old systems
      return rawName.endsWith('/') ? 'directory' : 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '5':
      return 'directory';
    default:
      return 'other';
  }
}

/**
 * Indexes the tar file `file`. `label` names the archive in messages (the path the user gave, which for a decompressed
 * archive is not `file`). Throws a message naming `label` for: a file that is not a tar (checked by the first header's
 * checksum), corrupt headers, entries whose data runs past the end of the file, absurd sizes, entry names that are
 * absolute or contain `..`, and links whose target is absolute or climbs out of the archive.
 */
export function scanTar(file: string, label: string): TarIndex {
  const fd = fs.openSync(file, 'r');
  try {
    const fileSize = fs.fstatSync(fd).size;
    if (fileSize === 0) throw new Error(`${label}: is not an image archive (the file is empty)`);
    const entries = new Map<string, TarEntry>();
    const globalPax = new Map<string, string>();
    let localPax: Map<string, string> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    let pos = 0;

    for (;;) {
      // A tar ends with two zero blocks; tolerate a missing trailer, as GNU tar does, when the file ends at a boundary.
      if (pos === fileSize) break;
      if (pos + BLOCK > fileSize) {
        if (pos === 0) throw new Error(`${label}: is not an image archive (not a tar file: only ${fileSize} bytes)`);
        throw new Error(`${label}: truncated tar: ${fileSize - pos} stray bytes at offset ${pos} where a header should be`);
      }
      const block = readAt(fd, BLOCK, pos, label);
      if (isZeroBlock(block)) break;
      const where = `${label}: tar header at offset ${pos}`;
      if (!checksumMatches(block)) {
        if (pos === 0) throw new Error(`${label}: is not an image archive (not a tar file: the first header's checksum does not match)`);
        throw new Error(`${where}: bad checksum (corrupt archive)`);
      }
      const header = decodeHeader(block, where);
      const isMeta = header.typeflag === 'x' || header.typeflag === 'g' || header.typeflag === 'L' || header.typeflag === 'K';
      const paxSize = isMeta ? undefined : localPax?.get('size') ?? globalPax.get('size');
      let size = header.size;
      if (paxSize !== undefined) {
        if (!/^[0-9]{1,16}$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) {
          throw new Error(`${where}: malformed PAX size ${JSON.stringify(paxSize.slice(0, 40))}`);
        }
        size = Number(paxSize);
      }
      const dataOffset = pos + BLOCK;
      if (size > fileSize - dataOffset) {
        throw new Error(`${where}: entry declares ${size} bytes of data but the file ends ${fileSize - dataOffset} bytes later (truncated archive?)`);
      }
      const readMeta = (): Buffer => {
        if (size > MAX_META_BYTES) throw new Error(`${where}: ${size}-byte extended header is implausibly large`);
        return readAt(fd, size, dataOffset, label);
      };
      switch (header.typeflag) {
        case 'x':
          localPax = parsePaxRecords(readMeta(), where);
          break;
        case 'g':
          for (const [k, v] of parsePaxRecords(readMeta(), where)) globalPax.set(k, v);
          break;
        case 'L':
          longName = nulTerminated(readMeta());
          break;
        case 'K':
          longLink = nulTerminated(readMeta());
          break;
        default: {
          const rawName = longName ?? localPax?.get('path') ?? globalPax.get('path') ?? header.name;
          const rawLink = longLink ?? localPax?.get('linkpath') ?? globalPax.get('linkpath') ?? header.linkname;
          localPax = undefined;
          longName = undefined;
          longLink = undefined;
          addEntry(entries, rawName, rawLink, header.typeflag, dataOffset, size, `${label}: entry at offset ${pos}`);
        }
      }
      pos = dataOffset + padded(size);
    }
    return { file, fileSize, entries };
  } finally {
    fs.closeSync(fd);
  }
}

function nulTerminated(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.toString('utf8', 0, nul === -1 ? data.length : nul);
}

function addEntry(entries: Map<string, TarEntry>, rawName: string, rawLink: string, typeflag: string, offset: number, size: number,
  where: string): void {
  let name: string;
  try {
    name = canonicalName(rawName);
  } catch (e) {
    throw new Error(`${where}: unsafe entry ${(e as Error).message}`);
  }
  const type = entryType(typeflag, rawName);
  if (name === '') {
    if (type === 'directory') return; // "./": the root itself
    throw new Error(`${where}: entry with an empty name`);
  }
  let target: string | undefined;
  try {
    if (type === 'symlink') target = symlinkTarget(name, rawLink);
    if (type === 'hardlink') target = canonicalName(rawLink);
  } catch (e) {
    throw new Error(`${where}: unsafe link: ${(e as Error).message}`);
  }
  if (type === 'hardlink' && target === '') throw new Error(`${where}: hard link ${name} has an empty target`);
  entries.set(name, { name, type, offset, size: type === 'file' ? size : 0, target });
}

/**
 * The regular file that `name` (canonical) designates, following symbolic links (in any component of the name, as a
 * filesystem would) and hard links. Returns undefined when no entry has that name; throws (naming `label`) when a link
 * dangles, loops or leads to something that is not a regular file, or when `name` is a directory or special file.
 */
export function resolveEntry(index: TarIndex, name: string, label: string): TarEntry | undefined {
  let hops = 0;
  let via: string | undefined;
  let parts = name.split('/');
  for (;;) {
    // Substitute the first component prefix that is a symlink, and start again from the root.
    let substituted = false;
    for (let i = 0; i < parts.length; i++) {
      const prefix = parts.slice(0, i + 1).join('/');
      const entry = index.entries.get(prefix);
      if (entry?.type !== 'symlink') continue;
      if (++hops > MAX_LINK_HOPS) throw new Error(`${label}: too many levels of links resolving ${name} (a link loop?)`);
      via ??= prefix;
      parts = [...entry.target!.split('/'), ...parts.slice(i + 1)];
      substituted = true;
      break;
    }
    if (substituted) continue;
    const full = parts.join('/');
    const entry = index.entries.get(full);
    if (!entry) {
      if (via === undefined) return undefined;
      throw new Error(`${label}: ${name} is a link (via ${via}) to ${full}, which is not in the archive`);
    }
    switch (entry.type) {
      case 'file':
        return entry;
      case 'hardlink':
        if (++hops > MAX_LINK_HOPS) throw new Error(`${label}: too many levels of links resolving ${name} (a link loop?)`);
        via ??= full;
        parts = entry.target!.split('/');
        continue;
      default:
        throw new Error(`${label}: ${name}${full !== name ? ` (resolved to ${full})` : ''} is a ${entry.type === 'other' ? 'special file' : entry.type}, not a regular file`);
    }
  }
}
