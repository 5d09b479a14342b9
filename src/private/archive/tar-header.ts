/**
 * The 512-byte tar header: decoding (ustar, GNU and v7 variants, octal and base-256 numbers, checksum) and encoding of
 * the one deterministic form this library writes (ustar, with a PAX extended header only when a name or size does not
 * fit). Scanning whole archives (long names, PAX records, links) is `tar-scan.ts`; this file knows one block at a time.
 */

/** Tar's block size: headers are one block, data is padded to whole blocks. */
export const BLOCK = 512;

/** The largest size an 11-digit octal size field can hold (8 GiB - 1); larger sizes need a PAX `size` record. */
const MAX_OCTAL_SIZE = 0o77777777777;

/** A decoded header, before GNU long names or PAX records are applied. */
export interface RawTarHeader {
  readonly name: string;
  readonly size: number;
  /** The type flag character; `'\0'` (old tars) is reported as `'0'`. */
  readonly typeflag: string;
  readonly linkname: string;
}

/** Rounds a data size up to whole blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** Whether a block is all zeros: the end-of-archive marker. */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? length : nul).toString('utf8');
}

/**
 * A numeric field: ASCII octal (NUL- or space-terminated, possibly space-padded), or GNU base-256 when the high bit of
 * the first byte is set (used for sizes of 8 GiB and more). Throws with `where` in the message for anything else, for
 * negative numbers and for numbers beyond 2^53 (no file is that large: such a size is corruption or an attack).
 */
export function numericField(block: Buffer, start: number, length: number, where: string): number {
  const field = block.subarray(start, start + length);
  // Arithmetic rather than bit operators: 0x80 marks base-256, 0x40 its sign, the low six bits start the number.
  if (field[0] >= 0x80) {
    if (field[0] >= 0xc0) throw new Error(`${where}: negative base-256 number`);
    let value = field[0] - 0x80;
    for (let i = 1; i < length; i++) {
      value = value * 256 + field[i];
      if (value > Number.MAX_SAFE_INTEGER) throw new Error(`${where}: absurd number (more than 2^53)`);
    }
    return value;
  }
  const digits = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (digits === '') return 0;
  if (!/^[0-7]+$/.test(digits)) throw new Error(`${where}: malformed number ${JSON.stringify(digits)}`);
  return parseInt(digits, 8);
}

/** Sum of the header bytes with the checksum field taken as spaces, both unsigned (POSIX) and signed (some old tars). */
function checksums(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

/** Whether the header's stored checksum matches its bytes: the cheap test that tells a tar from anything else. */
export function checksumMatches(block: Buffer): boolean {
  let stored: number;
  try {
    stored = numericField(block, 148, 8, 'checksum');
  } catch {
    return false;
  }
  const { unsigned, signed } = checksums(block);
  return stored === unsigned || stored === signed;
}

/**
 * Decodes one header block whose checksum has been verified. The ustar `prefix` field is used only with the POSIX
 * magic `ustar\0`: GNU headers (`ustar  \0`) keep access/change times in the same bytes.
 */
export function decodeHeader(block: Buffer, where: string): RawTarHeader {
  const magic = block.toString('latin1', 257, 263);
  let name = text(block, 0, 100);
  if (magic === 'ustar\0') {
    const prefix = text(block, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  const flag = String.fromCharCode(block[156]);
  return {
    name,
    size: numericField(block, 124, 12, `${where}: size field`),
    typeflag: flag === '\0' ? '0' : flag,
    linkname: text(block, 157, 100),
  };
}

/** Parses the records of a PAX extended header (`"<length> <key>=<value>\n"` each). */
export function parsePaxRecords(data: Buffer, where: string): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad the data with NULs
    const space = data.indexOf(0x20, pos);
    const length = space === -1 ? NaN : Number(data.toString('latin1', pos, space));
    if (!Number.isSafeInteger(length) || length <= space - pos + 1 || pos + length > data.length || data[pos + length - 1] !== 0x0a) {
      throw new Error(`${where}: malformed PAX record at byte ${pos}`);
    }
    const record = data.toString('utf8', space + 1, pos + length - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) throw new Error(`${where}: malformed PAX record at byte ${pos}`);
    records.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return records;
}

function writeText(block: Buffer, start: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar field overflow: ${JSON.stringify(value)}`);
  bytes.copy(block, start);
}

function writeOctal(block: Buffer, start: number, length: number, value: number): void {
  writeText(block, start, length, value.toString(8).padStart(length - 1, '0') + '\0');
}

/** One ustar header block with this library's fixed metadata (mode 0644, uid/gid 0, mtime 0, no owner names). */
function ustarBlock(name: string, prefix: string, size: number, typeflag: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeText(block, 0, 100, name);
  writeOctal(block, 100, 8, 0o644);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, 0);
  block.write(typeflag, 156, 'latin1');
  block.write('ustar\0' + '00', 257, 'latin1');
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  writeText(block, 345, 155, prefix);
  block.write('        ', 148, 'latin1');
  const { unsigned } = checksums(block);
  writeText(block, 148, 8, unsigned.toString(8).padStart(6, '0') + '\0 ');
  return block;
}

/** Splits a long name into ustar `prefix` / `name` at a `/`, or returns undefined when no split fits. */
function splitName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { prefix, name: rest };
  }
  return undefined;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body);
  // The length counts its own digits: grow until stable.
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

/**
 * The header bytes (one block, or three to four with a PAX extended header) for a regular file `name` of `size` bytes,
 * deterministic for given arguments. The caller writes the data after it, padded to a whole block.
 */
export function encodeFileHeader(name: string, size: number): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`bad tar entry size ${size} for ${name}`);
  const split = splitName(name);
  const records: string[] = [];
  if (!split) records.push(paxRecord('path', name));
  if (size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(size)));
  // With a PAX `path`, the ustar name is only a placeholder for readers that do not know PAX.
  const main = ustarBlock(split?.name ?? 'long-name', split?.prefix ?? '', size > MAX_OCTAL_SIZE ? 0 : size, '0');
  if (records.length === 0) return main;
  const data = Buffer.from(records.join(''), 'utf8');
  const paxHeader = ustarBlock('PaxHeaders/entry', '', data.length, 'x');
  return Buffer.concat([paxHeader, data, Buffer.alloc(padded(data.length) - data.length), main]);
}
