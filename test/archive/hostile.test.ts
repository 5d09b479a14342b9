/**
 * Corrupt and hostile archives given to the inspector: each must fail with an Error naming the archive and the cause,
 * and nothing may be read or written outside the archive and the staging directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { inspectImageArchive } from '../../src/private/archive/inspect';
import { sha256 } from '../../src/private/oci/digest';
import { OCI_MANIFEST } from '../../src/private/oci/media-types';
import { MAX_INDEX_DEPTH } from '../../src/private/oci/walk';
import { OciLayoutImage, writeBlob } from '../support/oci-layout';
import { tarBytes, TarSpec } from '../support/tar-files';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { buildImage } from '../support/umoci-images';

let tmp: string;
let staging: string;
let layoutDir: string;
let image: OciLayoutImage;

beforeAll(async () => {
  tmp = makeTempDir('archive-hostile-');
  staging = path.join(tmp, 'staging');
  layoutDir = path.join(tmp, 'layout');
  image = await buildImage(layoutDir, { tag: 'v1', files: { '/hello.txt': 'hello\n' } });
});

afterAll(() => removeTempDir(tmp));

/** The layout's files as tar entries (sorted), to be tampered with. */
function layoutSpecs(dir = layoutDir): TarSpec[] {
  const specs: TarSpec[] = [];
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const relName = rel ? `${rel}/${name}` : name;
      const stat = fs.statSync(path.join(dir, relName));
      if (stat.isDirectory()) walk(relName);
      else specs.push({ name: relName, data: fs.readFileSync(path.join(dir, relName)) });
    }
  };
  walk('');
  return specs;
}

function blobSpecName(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

function archive(name: string, bytes: Buffer): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  return file;
}

function inspect(source: string, ref?: string): unknown {
  return inspectImageArchive(source, { ref, stagingDir: staging });
}

const layer = (): OciLayoutImage['blobs'][number] => image.blobs.find(b => b.mediaType.includes('layer'))!;
const config = (): OciLayoutImage['blobs'][number] => image.blobs.find(b => b.mediaType.includes('config'))!;

test('the untampered archive is fine (the baseline of the cases below)', () => {
  const file = archive('baseline.tar', tarBytes(layoutSpecs()));
  expect(inspectImageArchive(file, { stagingDir: staging }).plan.rootDigest).toBe(image.root.digest);
});

describe('hostile tar entries', () => {
  test('an entry with a path traversal name', () => {
    const file = archive('traversal.tar', tarBytes([...layoutSpecs(), { name: 'blobs/../../../tmp/evil', data: 'x' }]));
    const offset = tarBytes(layoutSpecs(), { trailer: false }).length;
    expect(() => inspect(file)).toThrow(`${file}: entry at offset ${offset}: unsafe entry name with a '..' component "blobs/../../../tmp/evil"`);
  });

  test('an entry with an absolute name', () => {
    const file = archive('absolute.tar', tarBytes([{ name: '/etc/evil', data: 'x' }, ...layoutSpecs()]));
    expect(() => inspect(file)).toThrow(`${file}: entry at offset 0: unsafe entry absolute name "/etc/evil"`);
  });

  test('a blob that is a symlink out of the archive', () => {
    const specs = layoutSpecs().map(s => (s.name === blobSpecName(layer().digest) ? { name: s.name, type: 'symlink' as const, linkname: '../../../../etc/passwd' } : s));
    const file = archive('symlink-out.tar', tarBytes(specs));
    expect(() => inspect(file)).toThrow(new RegExp(`${file}: entry at offset \\d+: unsafe link: symlink ${blobSpecName(layer().digest)} -> \\.\\./\\.\\./\\.\\./\\.\\./etc/passwd leads outside the archive`));
  });

  test('a blob that is a hard link to an entry that does not exist', () => {
    const specs = layoutSpecs().map(s => (s.name === blobSpecName(layer().digest) ? { name: s.name, type: 'hardlink' as const, linkname: 'blobs/sha256/nothing' } : s));
    const file = archive('hardlink-missing.tar', tarBytes(specs));
    expect(() => inspect(file)).toThrow(`${file}: ${blobSpecName(layer().digest)} is a link (via ${blobSpecName(layer().digest)}) to blobs/sha256/nothing, which is not in the archive`);
  });

  test('a truncated archive (cut 10 bytes into the layer)', () => {
    const whole = tarBytes(layoutSpecs());
    const header = whole.indexOf(blobSpecName(layer().digest));
    const file = archive('truncated.tar', whole.subarray(0, header + 512 + 10));
    expect(() => inspect(file)).toThrow(`${file}: tar header at offset ${header}: entry declares ${layer().size} bytes of data but the file ends 10 bytes later (truncated archive?)`);
  });

  test('an entry declaring a size far beyond the end of the file', () => {
    const specs = layoutSpecs();
    const last = specs.pop()!;
    const file = archive('oversize.tar', tarBytes([...specs, { ...last, declaredSize: 2 ** 33 - 1 }], { trailer: false }));
    expect(() => inspect(file)).toThrow(/oversize\.tar: tar header at offset \d+: entry declares 8589934591 bytes of data but the file ends/);
  });

  test('random bytes', () => {
    const file = archive('random.tar', Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 2654435761) % 256)));
    expect(() => inspect(file)).toThrow(`${file}: is not an image archive (not a tar file: the first header's checksum does not match)`);
  });

  test('gzip-compressed random bytes', () => {
    const file = archive('random.tgz', gzipSync(Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 40503) % 256))));
    expect(() => inspect(file)).toThrow(`${file}: is not an image archive (not a tar file: the first header's checksum does not match)`);
  });

  test('a truncated gzip file: the decompression error, and no partial file left to be reused', () => {
    const whole = gzipSync(tarBytes(layoutSpecs()));
    const file = archive('cut.tar.gz', whole.subarray(0, whole.length - 20));
    const stage = path.join(tmp, 'cut-staging');
    expect(() => inspectImageArchive(file, { stagingDir: stage })).toThrow(`${file}: gzip decompression failed: unexpected end of file`);
    expect(fs.readdirSync(stage)).toEqual([]);
  });

  test('a small gzip file made to inflate: refused once past its bound (100 times its size, at least 256 MiB), nothing left', () => {
    // 300 gzip members of 1 MiB of zeros each: about 300 KB that inflate to 300 MiB.
    const member = gzipSync(Buffer.alloc(1024 * 1024));
    const file = archive('bomb.tar.gz', Buffer.concat(Array.from({ length: 300 }, () => member)));
    const stage = path.join(tmp, 'bomb-staging');
    expect(() => inspectImageArchive(file, { stagingDir: stage }))
      .toThrow(`${file}: decompresses to more than ${256 * 1024 * 1024} bytes, the most this archive of ${fs.statSync(file).size} bytes may hold`);
    expect(fs.readdirSync(stage)).toEqual([]);
  });

  test('the bound can be raised or lowered: a valid image archive past a lowered bound is refused', () => {
    const whole = gzipSync(tarBytes(layoutSpecs()));
    const file = archive('bounded.tar.gz', whole);
    const inflated = tarBytes(layoutSpecs()).length;
    const stage = path.join(tmp, 'bounded-staging');
    expect(() => inspectImageArchive(file, { stagingDir: stage, maxDecompressedBytes: inflated - 1 })).toThrow(/bounded\.tar\.gz: decompresses to more than/);
    expect(fs.readdirSync(stage)).toEqual([]);
    expect(inspectImageArchive(file, { stagingDir: stage, maxDecompressedBytes: inflated }).plan.rootDigest).toBe(image.root.digest);
  });

  test('a gzip tar that is not an image: the decompressed tar is not left in the staging directory', () => {
    const file = archive('not-an-image.tar.gz', gzipSync(tarBytes([{ name: 'README', data: 'not an image\n'.repeat(10_000) }])));
    const stage = path.join(tmp, 'not-an-image-staging');
    expect(() => inspectImageArchive(file, { stagingDir: stage })).toThrow(/not-an-image\.tar\.gz: /);
    expect(fs.readdirSync(stage)).toEqual([]);
  });

  test('a zstd-compressed file is named as such', () => {
    const file = archive('image.tar.zst', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
    expect(() => inspect(file)).toThrow(`${file}: is a zstd-compressed file; only uncompressed or gzip-compressed image archives are supported`);
  });

  test('a tar without index.json or manifest.json', () => {
    const file = archive('plain.tar', tarBytes([{ name: 'README', data: 'not an image' }]));
    expect(() => inspect(file)).toThrow(`${file}: is not an image archive (no index.json or manifest.json)`);
  });

  test('an index.json listing no images', () => {
    const file = archive('empty-index.tar', tarBytes([{ name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', data: '{"schemaVersion":2,"manifests":[]}' }]));
    expect(() => inspect(file)).toThrow(`${file}: holds no images (index.json lists none)`);
  });

  test('a source that does not exist', () => {
    const missing = path.join(tmp, 'nope.tar');
    expect(() => inspect(missing)).toThrow(`${missing}: cannot read the image archive (ENOENT`);
  });
});

describe('inconsistent images', () => {
  /** A tar of the layout with `replace` applied to the named blobs and extra blobs/index.json entries. */
  function tampered(name: string, replace: Record<string, Buffer | undefined>, extra: TarSpec[] = []): string {
    const specs = layoutSpecs()
      .filter(s => !(s.name in replace) || replace[s.name] !== undefined)
      .map(s => (s.name in replace ? { name: s.name, data: replace[s.name] } : s));
    return archive(name, tarBytes([...specs, ...extra]));
  }

  function indexWith(entry: object): Buffer {
    return Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
  }

  test('a layer blob missing', () => {
    const file = tampered('missing-blob.tar', { [blobSpecName(layer().digest)]: undefined });
    expect(() => inspect(file)).toThrow(`${file}: blob ${layer().digest} referenced by manifest ${image.root.digest} is missing`);
  });

  test('a layer blob of another size than its descriptor says', () => {
    const file = tampered('short-blob.tar', { [blobSpecName(layer().digest)]: Buffer.from('short') });
    expect(() => inspect(file)).toThrow(`${file}: blob ${layer().digest} referenced by manifest ${image.root.digest} is 5 bytes, the descriptor says ${layer().size}`);
  });

  test('a config whose bytes do not match its digest', () => {
    const original = fs.readFileSync(config().path, 'utf8');
    const forged = Buffer.from(original.replace('"amd64"', '"arm64"'));
    expect(forged.length).toBe(config().size);
    const file = tampered('forged-config.tar', { [blobSpecName(config().digest)]: forged });
    expect(() => inspect(file)).toThrow(`${file}: config ${config().digest} referenced by manifest ${image.root.digest} does not match its digest (its bytes hash to ${sha256(forged)})`);
  });

  test('a manifest whose bytes do not match its digest', () => {
    const forged = Buffer.from(image.root.bytes.toString('utf8').replace('"schemaVersion":2', '"schemaVersion":3'));
    const file = tampered('forged-manifest.tar', { [blobSpecName(image.root.digest)]: forged });
    expect(() => inspect(file)).toThrow(`${file}: manifest ${image.root.digest} referenced by index.json does not match its digest (its bytes hash to ${sha256(forged)})`);
  });

  test('a manifest of another size than its descriptor says', () => {
    const file = tampered('resized.tar', { 'index.json': indexWith({ mediaType: OCI_MANIFEST, digest: image.root.digest, size: 10 }) });
    expect(() => inspect(file)).toThrow(`${file}: manifest ${image.root.digest} referenced by index.json is ${image.root.size} bytes, the descriptor says 10`);
  });

  /** `levels` indexes above the image's manifest, as blobs, and the descriptor of the outermost one. */
  function nestedIndexes(levels: number, outerType = 'application/vnd.oci.image.index.v1+json'): { top: object; blobs: TarSpec[] } {
    let child: object = { mediaType: OCI_MANIFEST, digest: image.root.digest, size: image.root.size };
    const blobs: TarSpec[] = [];
    for (let i = 0; i < levels; i++) {
      const data = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [child] }));
      blobs.push({ name: blobSpecName(sha256(data)), data });
      child = { mediaType: i === levels - 1 ? outerType : 'application/vnd.oci.image.index.v1+json', digest: sha256(data), size: data.length };
    }
    return { top: child, blobs };
  }

  test(`an image ${MAX_INDEX_DEPTH} indexes deep is read; one index more is refused`, () => {
    // index.json's entry is the outermost index (depth 0): the image's manifest is `levels` deep.
    const deepest = nestedIndexes(MAX_INDEX_DEPTH);
    const accepted = tampered('nested-max.tar', { 'index.json': indexWith(deepest.top) }, deepest.blobs);
    const { plan } = inspectImageArchive(accepted, { stagingDir: staging });
    expect(plan.manifests).toHaveLength(MAX_INDEX_DEPTH + 1);
    expect(plan.manifests[0].digest).toBe(image.root.digest);

    const tooDeep = nestedIndexes(MAX_INDEX_DEPTH + 1);
    const refused = tampered('nested-too-deep.tar', { 'index.json': indexWith(tooDeep.top) }, tooDeep.blobs);
    expect(() => inspect(refused)).toThrow(`${refused}: indexes nested more than ${MAX_INDEX_DEPTH} deep at ${image.root.digest}`);
  });

  test('a manifest whose descriptor names another manifest type', () => {
    const listed = nestedIndexes(1, 'application/vnd.docker.distribution.manifest.list.v2+json');
    const file = tampered('mislabelled.tar', { 'index.json': indexWith(listed.top) }, listed.blobs);
    const digest = (listed.top as { digest: string }).digest;
    expect(() => inspect(file)).toThrow(`${file}: manifest ${digest} is application/vnd.oci.image.index.v1+json, `
      + 'its descriptor says application/vnd.docker.distribution.manifest.list.v2+json');
  });

  test('a manifest of unknown media type', () => {
    const dir = makeTempDir('unknown-type-');
    try {
      const odd = writeBlob(dir, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example.thing+json', things: [] })));
      const file = tampered('unknown-type.tar', { 'index.json': indexWith({ mediaType: OCI_MANIFEST, digest: odd.digest, size: odd.size }) },
        [{ name: blobSpecName(odd.digest), data: fs.readFileSync(path.join(dir, blobSpecName(odd.digest))) }]);
      expect(() => inspect(file)).toThrow(`${file}: manifest ${odd.digest} has unknown media type 'application/vnd.example.thing+json'`);
    } finally {
      removeTempDir(dir);
    }
  });

  test('an index.json digest that is not a sha256 digest', () => {
    for (const [digest, message] of [
      ['sha256:../../../etc/passwd', 'malformed digest "sha256:../../../etc/passwd"'],
      [`sha512:${'a'.repeat(128)}`, 'unsupported digest algorithm'],
    ]) {
      const file = tampered('bad-digest.tar', { 'index.json': indexWith({ mediaType: OCI_MANIFEST, digest, size: 1 }) });
      expect(() => inspect(file)).toThrow(`${file}: index.json manifests[0]: ${message}`);
    }
  });

  test('a legacy layer.tar symlink out of the archive', () => {
    const file = archive('legacy-out.tar', tarBytes([
      { name: 'abc.json', data: '{"rootfs":{"type":"layers","diff_ids":["sha256:' + 'a'.repeat(64) + '"]}}' },
      { name: 'x/layer.tar', type: 'symlink', linkname: '../../etc/passwd' },
      { name: 'manifest.json', data: JSON.stringify([{ Config: 'abc.json', RepoTags: ['x:1'], Layers: ['x/layer.tar'] }]) },
    ]));
    expect(() => inspect(file)).toThrow(`${file}: entry at offset 1024: unsafe link: symlink x/layer.tar -> ../../etc/passwd leads outside the archive`);
  });
});

describe('hostile layout directories', () => {
  function copyLayout(name: string): string {
    const dir = path.join(tmp, name);
    fs.cpSync(layoutDir, dir, { recursive: true });
    return dir;
  }

  test('a blob that is a symlink to a file outside the directory', () => {
    const dir = copyLayout('dir-symlink-out');
    const outside = path.join(tmp, 'outside-secret');
    fs.writeFileSync(outside, fs.readFileSync(layer().path));
    const blob = path.join(dir, blobSpecName(layer().digest));
    fs.rmSync(blob);
    fs.symlinkSync(outside, blob);
    expect(() => inspect(dir)).toThrow(`${dir}: ${blobSpecName(layer().digest)} resolves to ${fs.realpathSync(outside)}, outside the directory`);
  });

  test('a blob that is a dangling symlink', () => {
    const dir = copyLayout('dir-dangling');
    const blob = path.join(dir, blobSpecName(layer().digest));
    fs.rmSync(blob);
    fs.symlinkSync('nowhere', blob);
    expect(() => inspect(dir)).toThrow(`${dir}: ${blobSpecName(layer().digest)} is a symlink to a file that does not exist`);
  });

  test('a missing blob, and nothing staged', () => {
    const dir = copyLayout('dir-missing');
    fs.rmSync(path.join(dir, blobSpecName(layer().digest)));
    const stage = path.join(tmp, 'dir-missing-staging');
    expect(() => inspectImageArchive(dir, { stagingDir: stage })).toThrow(`${dir}: blob ${layer().digest} referenced by manifest ${image.root.digest} is missing`);
    expect(fs.existsSync(stage)).toBe(false);
  });
});
