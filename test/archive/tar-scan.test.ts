/**
 * The tar scanner on archives written by GNU tar (ustar prefix, GNU long names, PAX), on links, and on corrupt and
 * hostile tars written byte by byte (tarBytes): each must give an exact data offset or a clear error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { canonicalName, symlinkTarget } from '../../src/private/archive/entry-names';
import { encodeFileHeader, numericField, padded } from '../../src/private/archive/tar-header';
import { resolveEntry, scanTar, TarIndex } from '../../src/private/archive/tar-scan';
import { readRange } from '../support/publish-plan-check';
import { run } from '../support/run-tool';
import { tarBytes, tarDirectory } from '../support/tar-files';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

let tmp: string;

beforeAll(() => {
  tmp = makeTempDir('tar-scan-');
});

afterAll(() => removeTempDir(tmp));

function write(name: string, bytes: Buffer): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  return file;
}

function content(index: TarIndex, name: string): string {
  const entry = resolveEntry(index, name, 'test');
  if (!entry) throw new Error(`${name} not found`);
  return readRange(index.file, entry.offset, entry.size).toString('utf8');
}

describe('archives written by GNU tar', () => {
  const longDir = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
  const longName = `${longDir}/${'f'.repeat(120)}.txt`; // 242 bytes: beyond ustar name, fits no prefix split
  let src: string;

  beforeAll(() => {
    src = path.join(tmp, 'src');
    fs.mkdirSync(path.join(src, longDir), { recursive: true });
    fs.writeFileSync(path.join(src, 'short.txt'), 'short\n');
    fs.writeFileSync(path.join(src, longDir, 'mid.txt'), 'prefix split\n');
    fs.writeFileSync(path.join(src, longName), 'very long\n');
    fs.writeFileSync(path.join(src, 'big.bin'), Buffer.alloc(70_000, 7));
    fs.mkdirSync(path.join(src, 'sub'));
    fs.symlinkSync('../short.txt', path.join(src, 'sub', 'link.txt'));
  });

  test.each(['gnu', 'pax'] as const)('%s format: long names, sizes and symlinks resolve to the right bytes', async format => {
    const file = path.join(tmp, `gnu-${format}.tar`);
    await tarDirectory(src, file, format);
    const index = scanTar(file, file);
    expect(content(index, 'short.txt')).toBe('short\n');
    expect(content(index, `${longDir}/mid.txt`)).toBe('prefix split\n');
    expect(content(index, longName)).toBe('very long\n');
    expect(content(index, 'sub/link.txt')).toBe('short\n');
    expect(readRange(file, resolveEntry(index, 'big.bin', 'test')!.offset, 70_000).equals(Buffer.alloc(70_000, 7))).toBe(true);
    expect(index.entries.get('sub')?.type).toBe('directory');
    expect(index.entries.get('sub/link.txt')?.type).toBe('symlink');
  });

  test('ustar format: names split into prefix and name', async () => {
    const file = path.join(tmp, 'ustar.tar');
    await run('tar', ['--format=ustar', '-cf', file, '-C', src, 'short.txt', `${longDir}/mid.txt`]);
    const index = scanTar(file, file);
    expect(content(index, `${longDir}/mid.txt`)).toBe('prefix split\n');
  });

  test('hard links written by tar resolve to the first copy', async () => {
    const dir = path.join(tmp, 'hard');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'a'), 'same inode\n');
    fs.linkSync(path.join(dir, 'a'), path.join(dir, 'b'));
    const file = path.join(tmp, 'hard.tar');
    await tarDirectory(dir, file);
    const index = scanTar(file, file);
    expect(index.entries.get('b')?.type).toBe('hardlink');
    expect(content(index, 'b')).toBe('same inode\n');
  });
});

describe('the header encoder (layout packing)', () => {
  test('writes headers GNU tar reads, with a PAX path for names that do not fit ustar', async () => {
    const names = ['blobs/sha256/' + 'a'.repeat(64), `${'x'.repeat(150)}/${'y'.repeat(90)}`, `${'p'.repeat(300)}/q`];
    const parts: Buffer[] = [];
    names.forEach((name, i) => {
      const data = Buffer.from(`entry ${i}\n`);
      parts.push(encodeFileHeader(name, data.length), data, Buffer.alloc(padded(data.length) - data.length));
    });
    const file = write('encoded.tar', Buffer.concat([...parts, Buffer.alloc(1024)]));
    const listed = (await run('tar', ['-tvf', file])).stdout.toString('utf8').trim().split('\n');
    expect(listed.map(l => l.split(/\s+/).slice(5).join(' '))).toEqual(names);
    expect(listed.every(l => l.startsWith('-rw-r--r-- 0/0') && l.includes('1970-01-01'))).toBe(true);
    const index = scanTar(file, file);
    names.forEach((name, i) => expect(content(index, name)).toBe(`entry ${i}\n`));
  });

  test('sizes beyond 8 GiB go in a PAX size record, which the scanner honours (sparse file)', () => {
    const size = 9 * 1024 ** 3 + 5;
    const header = encodeFileHeader('huge.bin', size);
    expect(header.length).toBeGreaterThan(512);
    const file = path.join(tmp, 'huge.tar');
    fs.writeFileSync(file, header);
    fs.truncateSync(file, header.length + padded(size) + 1024);
    const entry = resolveEntry(scanTar(file, file), 'huge.bin', 'test');
    expect(entry).toMatchObject({ size, offset: header.length });
  });

  test('base-256 numbers are read, negative or absurd ones refused', () => {
    const field = Buffer.alloc(12);
    field[0] = 0x80;
    field.writeUIntBE(9 * 1024 ** 3, 6, 6);
    expect(numericField(field, 0, 12, 'f')).toBe(9 * 1024 ** 3);
    field[0] = 0xff;
    expect(() => numericField(field, 0, 12, 'f')).toThrow(/negative/);
    const absurd = Buffer.alloc(12, 0xff);
    absurd[0] = 0xbf;
    expect(() => numericField(absurd, 0, 12, 'f')).toThrow(/absurd/);
  });
});

describe('entry names', () => {
  test('canonical names drop ./, empty components and trailing slashes', () => {
    expect(canonicalName('./blobs//sha256/x/')).toBe('blobs/sha256/x');
    expect(canonicalName('./')).toBe('');
  });

  test.each(['../x', 'a/../../x', 'a/..', '/etc/passwd', 'a\\..\\b'])('refuses %s', name => {
    expect(() => canonicalName(name)).toThrow(/absolute|'\.\.'|backslash/);
  });

  test('symlink targets are relative to the link and may not leave the archive', () => {
    expect(symlinkTarget('abc/layer.tar', '../def/layer.tar')).toBe('def/layer.tar');
    expect(() => symlinkTarget('abc/layer.tar', '../../etc/passwd')).toThrow(/leads outside the archive/);
    expect(() => symlinkTarget('abc/layer.tar', '/etc/passwd')).toThrow(/absolute target/);
  });
});

describe('links inside the archive', () => {
  test('a symlinked directory, a chain of links, and a hard link to a symlink all resolve', () => {
    const file = write('links.tar', tarBytes([
      { name: 'real/', type: 'directory' },
      { name: 'real/data', data: 'payload' },
      { name: 'alias', type: 'symlink', linkname: 'real' },
      { name: 'one', type: 'symlink', linkname: 'alias/data' },
      { name: 'two', type: 'symlink', linkname: './one' },
      { name: 'three', type: 'hardlink', linkname: 'two' },
    ]));
    const index = scanTar(file, file);
    for (const name of ['real/data', 'alias/data', 'one', 'two', 'three']) expect(content(index, name)).toBe('payload');
    expect(resolveEntry(index, 'nothing', 'test')).toBeUndefined();
  });

  test('a link loop, a dangling link and a link to a directory are errors', () => {
    const file = write('bad-links.tar', tarBytes([
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'b', type: 'symlink', linkname: 'a' },
      { name: 'dangling', type: 'symlink', linkname: 'nowhere/file' },
      { name: 'hard', type: 'hardlink', linkname: 'missing' },
      { name: 'dir/', type: 'directory' },
      { name: 'todir', type: 'symlink', linkname: 'dir' },
    ]));
    const index = scanTar(file, 'bad-links.tar');
    expect(() => resolveEntry(index, 'a', 'bad-links.tar')).toThrow(/bad-links\.tar: too many levels of links resolving a/);
    expect(() => resolveEntry(index, 'dangling', 'bad-links.tar')).toThrow(/dangling is a link \(via dangling\) to nowhere\/file, which is not in the archive/);
    expect(() => resolveEntry(index, 'hard', 'bad-links.tar')).toThrow(/which is not in the archive/);
    expect(() => resolveEntry(index, 'todir', 'bad-links.tar')).toThrow(/is a directory, not a regular file/);
  });
});

describe('hostile and corrupt tars', () => {
  const ok = { name: 'ok', data: 'fine' };

  test.each([
    ['a .. component', { name: 'x/../../evil', data: 'x' }, /unsafe entry name with a '\.\.' component/],
    ['an absolute name', { name: '/etc/cron.d/evil', data: 'x' }, /unsafe entry absolute name/],
    ['a symlink out of the archive', { name: 'l', type: 'symlink' as const, linkname: '../../etc/passwd' }, /unsafe link: symlink l -> \.\.\/\.\.\/etc\/passwd leads outside/],
    ['an absolute symlink', { name: 'l', type: 'symlink' as const, linkname: '/etc/passwd' }, /unsafe link: symlink l has an absolute target/],
    ['a hard link out of the archive', { name: 'h', type: 'hardlink' as const, linkname: '../outside' }, /unsafe link: name with a '\.\.' component/],
  ])('%s is refused while scanning', (_, entry, message) => {
    const file = write('hostile.tar', tarBytes([ok, entry]));
    expect(() => scanTar(file, 'hostile.tar')).toThrow(message);
  });

  test('an entry whose declared size runs past the end of the file', () => {
    const file = write('liar.tar', tarBytes([ok, { name: 'layer', data: 'abc', declaredSize: 1024 ** 3 }], { trailer: false }));
    expect(() => scanTar(file, 'liar.tar')).toThrow(/liar\.tar: tar header at offset 1024: entry declares 1073741824 bytes of data but the file ends 512 bytes later \(truncated archive\?\)/);
  });

  test('a tar cut in the middle of an entry', () => {
    const whole = tarBytes([ok, { name: 'layer', data: Buffer.alloc(5000, 1) }]);
    const file = write('cut.tar', whole.subarray(0, 3000));
    expect(() => scanTar(file, 'cut.tar')).toThrow(/cut\.tar: .*truncated archive/);
  });

  test('a tar cut in the middle of a header', () => {
    const whole = tarBytes([ok, { name: 'layer', data: 'x' }]);
    const file = write('cut-header.tar', whole.subarray(0, 1024 + 100));
    expect(() => scanTar(file, 'cut-header.tar')).toThrow(/truncated tar: 100 stray bytes at offset 1024/);
  });

  test('a corrupt header checksum', () => {
    const bytes = tarBytes([ok, { name: 'layer', data: 'x' }]);
    bytes[1024 + 10] = bytes[1024 + 10] === 0x41 ? 0x42 : 0x41; // a byte of the second entry's name
    const file = write('checksum.tar', bytes);
    expect(() => scanTar(file, 'checksum.tar')).toThrow(/checksum\.tar: tar header at offset 1024: bad checksum/);
  });

  test('random bytes and an empty file are not tars', () => {
    const random = write('random.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)));
    expect(() => scanTar(random, 'random.bin')).toThrow(/random\.bin: is not an image archive \(not a tar file/);
    expect(() => scanTar(write('empty.tar', Buffer.alloc(0)), 'empty.tar')).toThrow(/empty\.tar: is not an image archive \(the file is empty\)/);
    expect(() => scanTar(write('short.bin', Buffer.from('hello')), 'short.bin')).toThrow(/not a tar file: only 5 bytes/);
  });

  test('a malformed PAX record and an absurd PAX size', () => {
    const pax = (records: string): Buffer => {
      const header = tarBytes([{ name: 'PaxHeaders/x', data: records }], { trailer: false });
      header[156] = 'x'.charCodeAt(0);
      // Recompute the checksum after changing the type flag.
      header.fill(0x20, 148, 156);
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += header[i];
      header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
      return header;
    };
    const bad = write('pax-bad.tar', Buffer.concat([pax('99 path=x\n'), tarBytes([ok])]));
    expect(() => scanTar(bad, 'pax-bad.tar')).toThrow(/malformed PAX record/);
    const huge = write('pax-huge.tar', Buffer.concat([pax('26 size=99999999999999999\n'), tarBytes([ok])]));
    expect(() => scanTar(huge, 'pax-huge.tar')).toThrow(/malformed PAX size|declares/);
  });
});
