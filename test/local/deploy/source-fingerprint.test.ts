/**
 * The deployer's own reading of the CDK's source hash (`sourceFingerprint`) against aws-cdk-lib's
 * `FileSystem.fingerprint` on the same directories: the two must agree on every shape a code asset can take, and a
 * change the CDK's hash sees must change ours.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileSystem } from 'aws-cdk-lib';
import { sourceFingerprint } from '../../../local/deploy/source-fingerprint';
import { makeTempDir } from '../../support/temp-dirs';

let tmp: string;

beforeAll(() => {
  tmp = makeTempDir('source-fingerprint-');
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A directory under the temporary one, with `files` (relative path → content) written into it. */
function directory(name: string, files: Record<string, string | Buffer>): string {
  const dir = path.join(tmp, name);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

/** Text whose CRLF pairs fall across the CDK's 8 KiB read chunks, with multi-byte characters split by them too. */
function awkwardText(): string {
  let text = '';
  for (let i = 0; text.length < 40_000; i++) text += i % 7 === 0 ? `line ${i} é ✓\r\n` : `line ${i}\n`;
  return `${'x'.repeat(8191)}\r\n${text}\r`;
}

test.each([
  ['a bundle of one file', { 'index.js': 'exports.handler = async () => {};\n' }],
  ['nested directories, names sorted as the CDK sorts them', { 'b/z.js': 'z', 'b/a.js': 'a', 'A.txt': 'upper', 'a.txt': 'lower', 'index.js': '1' }],
  ['text with CRLF line endings across read chunks', { 'index.js': awkwardText() }],
  ['a text file ending in CR', { 'index.js': 'a\r\nb\r' }],
  ['binary content (a zero byte in the first chunk) left as it is', { 'data.bin': Buffer.from([0, 13, 10, 13, 10, 255, 0xc3]) }],
  ['an empty file', { 'index.js': '', 'empty.txt': '' }],
])('%s: the same hash as FileSystem.fingerprint', (name, files) => {
  const dir = directory(name.replace(/\W+/g, '-'), files as Record<string, string | Buffer>);
  expect(sourceFingerprint(dir)).toBe(FileSystem.fingerprint(dir));
});

test('symbolic links: one inside the directory hashed as a link, one leading outside followed, as the CDK does', () => {
  const outside = directory('outside', { 'shared.js': 'module.exports = 1;\n' });
  const dir = directory('links', { 'index.js': 'require("./shared")', 'lib/own.js': 'own' });
  fs.symlinkSync(path.join(outside, 'shared.js'), path.join(dir, 'shared.js'));
  fs.symlinkSync('lib/own.js', path.join(dir, 'alias.js'));
  fs.symlinkSync(outside, path.join(dir, 'vendor'));
  expect(sourceFingerprint(dir)).toBe(FileSystem.fingerprint(dir));
});

test('a changed, added or removed file changes the hash', () => {
  const dir = directory('changes', { 'index.js': 'one', 'lib/a.js': 'a' });
  const original = sourceFingerprint(dir);
  fs.writeFileSync(path.join(dir, 'index.js'), 'two');
  const changed = sourceFingerprint(dir);
  fs.writeFileSync(path.join(dir, 'lib/b.js'), 'b');
  const added = sourceFingerprint(dir);
  fs.rmSync(path.join(dir, 'lib/a.js'));
  const removed = sourceFingerprint(dir);
  expect(new Set([original, changed, added, removed]).size).toBe(4);
  expect(removed).toBe(FileSystem.fingerprint(dir));
});
