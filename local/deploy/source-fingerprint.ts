/**
 * The source hash of a handler's code directory, computed as the CDK's `FileSystem.fingerprint` computes it with its
 * default options (no exclusions, symbolic links to outside the directory followed), without loading aws-cdk-lib:
 * that function validates its options against the library's deprecation table (3 MB of JavaScript), which made the
 * check of a handler the slowest step of a small deploy and held 37 MB.
 *
 * The hash is a sha256 over the directory's names and contents: when it equals the asset's id, the directory holds
 * what the CDK hashed (a different serialization could only match by a collision). When it does not, `code-trust.ts`
 * asks the CDK's own function, which decides: a CDK version that hashes otherwise costs time here, never a wrong answer.
 */
import { createHash, Hash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** The CDK's field delimiters (start of heading, start of text, end of text). */
const SOH = '\u0001';
const SOT = '\u0002';
const ETX = '\u0003';
/** The CDK reads files in chunks of this size, and normalizes line endings chunk by chunk: so does this. */
const CHUNK = 8 * 1024;

/** The fingerprint of `dir` as `FileSystem.fingerprint(dir)` computes it. */
export function sourceFingerprint(dir: string): string {
  const hash = createHash('sha256');
  field(hash, 'options.extra', '');
  field(hash, 'options.follow', 'external');
  const root = fs.realpathSync(dir);
  const visit = (symbolicPath: string, realPath: string): void => {
    const stat = fs.lstatSync(realPath);
    const component = path.relative(root, symbolicPath).replace(/\\/g, '/');
    if (stat.isSymbolicLink()) {
      const target = fs.readlinkSync(realPath);
      const resolved = path.resolve(path.dirname(realPath), target);
      // `external`: a link leading outside the directory is followed (when its target exists); one inside is hashed as a link.
      const internal = path.resolve(resolved).startsWith(path.resolve(root));
      if (!internal && fs.existsSync(resolved)) visit(symbolicPath, resolved);
      else field(hash, `link:${component}`, target);
    } else if (stat.isFile()) {
      field(hash, `file:${component}`, contentFingerprint(realPath));
    } else if (stat.isDirectory()) {
      for (const item of fs.readdirSync(realPath).sort()) visit(path.join(symbolicPath, item), path.join(realPath, item));
    } else {
      throw new Error(`Unable to hash ${symbolicPath}: it is neither a file nor a directory`);
    }
  };
  visit(root, root);
  return hash.digest('hex');
}

/**
 * `<size>:<sha256>` of a file; a text file (no zero byte in its first chunk) with its CRLF line endings made LF,
 * chunk by chunk as the CDK does (a chunk ending in CR waits for the next one).
 */
function contentFingerprint(file: string): string {
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(CHUNK);
  const fd = fs.openSync(file, 'r');
  let size = 0;
  let binary = false;
  let pending = '';
  try {
    for (let read = fs.readSync(fd, buffer, 0, CHUNK, null); read !== 0; read = fs.readSync(fd, buffer, 0, CHUNK, null)) {
      const chunk = buffer.subarray(0, read);
      if (size === 0) binary = chunk.indexOf(0) !== -1;
      let data: Buffer = chunk;
      if (!binary) {
        const text = chunk.toString();
        if (text.endsWith('\r')) {
          pending += text;
          continue;
        }
        data = Buffer.from((pending + text).replace(/\r\n/g, '\n'));
        pending = '';
      }
      size += data.length;
      hash.update(data);
    }
    if (pending) hash.update(Buffer.from(pending));
  } finally {
    fs.closeSync(fd);
  }
  return `${size}:${hash.digest('hex')}`;
}

function field(hash: Hash, header: string, value: string): void {
  hash.update(SOH).update(header).update(SOT).update(value).update(ETX);
}
