/**
 * Corrupt and hostile archives, refused by the synth-time inspector. Each case is refused with its cause and changes
 * nothing (`expectRefusedAndUnchanged` in world.ts).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  archives, BadInput, config, copyLayout, describeBadInputs, flip, hostile, inspectFailure, layer, outside, re, secret, setUpWorld, staging, tampered,
  UP_TO_WORLD, writeArchive,
} from './world';
import { sha256 } from '../../../src/shared/oci/digest';
import { OCI_MANIFEST } from '../../../src/shared/oci/media-types';
import { tarBytes } from '../../support/tar-files';
import { blobEntry } from '../support';
setUpWorld({ hostile: true });

const CATALOGUE: Array<[string, BadInput]> = [
  // --- Corrupt and hostile archives, refused by the synth-time inspector -----------------------------------------
  ['archive: a path-traversal entry name', {
    at: 'archive',
    prepare: () => writeArchive('traversal.tar', tarBytes(tampered({}, [{ name: 'blobs/../../../outside/planted-traversal', data: 'x' }]))),
    act: () => inspectFailure(path.join(archives, 'traversal.tar')),
    cause: /traversal\.tar: entry at offset \d+: unsafe entry name with a '\.\.' component "blobs\/\.\.\/\.\.\/\.\.\/outside\/planted-traversal"/,
    neverCreated: () => [path.join(outside, 'planted-traversal'), path.resolve(staging, '../../../outside/planted-traversal')],
  }],
  ['archive: an absolute entry name', {
    at: 'archive',
    prepare: () => writeArchive('absolute.tar', tarBytes([{ name: path.join(outside, 'planted-absolute'), data: 'x' }, ...tampered({})])),
    act: () => inspectFailure(path.join(archives, 'absolute.tar')),
    cause: () => new RegExp(`absolute\\.tar: entry at offset 0: unsafe entry absolute name "${re(path.join(outside, 'planted-absolute'))}"`),
    neverCreated: () => [path.join(outside, 'planted-absolute')],
  }],
  ['archive: a layer that is a symlink out of the archive, to the watched file', {
    at: 'archive',
    prepare: () => writeArchive('symlink-out.tar', tarBytes(tampered({ [blobEntry(layer().digest)]: (s) => ({ name: s.name, type: 'symlink', linkname: UP_TO_WORLD }) }))),
    act: () => inspectFailure(path.join(archives, 'symlink-out.tar')),
    cause: () => new RegExp(`symlink-out\\.tar: entry at offset \\d+: unsafe link: symlink ${re(blobEntry(layer().digest))} -> ${re(UP_TO_WORLD)} leads outside the archive`),
  }],
  ['archive: a layer that is a symlink to the absolute path of the watched file', {
    at: 'archive',
    prepare: () => writeArchive('symlink-abs.tar', tarBytes(tampered({ [blobEntry(layer().digest)]: (s) => ({ name: s.name, type: 'symlink', linkname: secret.file }) }))),
    act: () => inspectFailure(path.join(archives, 'symlink-abs.tar')),
    cause: () => new RegExp(`unsafe link: symlink ${re(blobEntry(layer().digest))} has an absolute target "${re(secret.file)}"`),
  }],
  ['archive: the blobs directory a symlink out of the archive', {
    at: 'archive',
    prepare: () => writeArchive('symlink-dir.tar', tarBytes([
      ...tampered({}).filter((s) => !s.name.startsWith('blobs/')),
      { name: 'blobs', type: 'symlink', linkname: '../outside' },
    ])),
    act: () => inspectFailure(path.join(archives, 'symlink-dir.tar')),
    cause: /symlink-dir\.tar: entry at offset \d+: unsafe link: symlink blobs -> \.\.\/outside leads outside the archive/,
  }],
  ['archive: a layer that is a hard link out of the archive', {
    at: 'archive',
    prepare: () => writeArchive('hardlink-out.tar', tarBytes(tampered({ [blobEntry(layer().digest)]: (s) => ({ name: s.name, type: 'hardlink', linkname: '../outside/secret.txt' }) }))),
    act: () => inspectFailure(path.join(archives, 'hardlink-out.tar')),
    cause: /hardlink-out\.tar: entry at offset \d+: unsafe link: name with a '\.\.' component "\.\.\/outside\/secret\.txt"/,
  }],
  ['archive: a layer that is a hard link to an absolute path', {
    at: 'archive',
    prepare: () => writeArchive('hardlink-abs.tar', tarBytes(tampered({ [blobEntry(layer().digest)]: (s) => ({ name: s.name, type: 'hardlink', linkname: secret.file }) }))),
    act: () => inspectFailure(path.join(archives, 'hardlink-abs.tar')),
    cause: () => new RegExp(`hardlink-abs\\.tar: entry at offset \\d+: unsafe link: absolute name "${re(secret.file)}"`),
  }],
  ['archive: a gzip-compressed archive with a symlink out', {
    at: 'archive',
    prepare: () => writeArchive('symlink-out.tar.gz', gzipSync(tarBytes(tampered({ [blobEntry(layer().digest)]: (s) => ({ name: s.name, type: 'symlink', linkname: UP_TO_WORLD }) })))),
    act: () => inspectFailure(path.join(archives, 'symlink-out.tar.gz')),
    cause: /symlink-out\.tar\.gz: entry at offset \d+: unsafe link: symlink .* leads outside the archive/,
  }],
  ['archive: a symlink loop', {
    at: 'archive',
    prepare: () => writeArchive('loop.tar', tarBytes(tampered({ [blobEntry(layer().digest)]: (s) => ({ name: s.name, type: 'symlink', linkname: 'loop-b' }) }, [
      { name: 'blobs/sha256/loop-b', type: 'symlink', linkname: layer().digest.slice('sha256:'.length) },
    ]))),
    act: () => inspectFailure(path.join(archives, 'loop.tar')),
    cause: /loop\.tar: too many levels of links resolving blobs\/sha256\/[0-9a-f]{64} \(a link loop\?\)/,
  }],
  ['archive: an entry declaring 8 GiB of data in a small file', {
    at: 'archive',
    prepare: () => {
      const specs = tampered({});
      const last = specs.pop()!;
      writeArchive('oversize.tar', tarBytes([...specs, { ...last, declaredSize: 2 ** 33 - 1 }], { trailer: false }));
    },
    act: () => inspectFailure(path.join(archives, 'oversize.tar')),
    cause: /oversize\.tar: tar header at offset \d+: entry declares 8589934591 bytes of data but the file ends \d+ bytes later \(truncated archive\?\)/,
  }],
  ['archive: a base-256 size field beyond 2^53', {
    at: 'archive',
    prepare: () => {
      const bytes = tarBytes(tampered({}));
      // The first header's size field: base-256 (high bit), all ones: an absurd size. Fix up its checksum.
      bytes.fill(0xff, 124, 136);
      bytes[124] = 0xbf; // 0x80 (base-256) + 0x3f
      bytes.fill(0x20, 148, 156);
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += bytes[i];
      bytes.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
      writeArchive('absurd-size.tar', bytes);
    },
    act: () => inspectFailure(path.join(archives, 'absurd-size.tar')),
    cause: /absurd-size\.tar: tar header at offset 0: size field: absurd number \(more than 2\^53\)/,
  }],
  ['archive: a tar truncated in the middle of a layer', {
    at: 'archive',
    prepare: () => {
      const whole = tarBytes(tampered({}));
      const header = whole.indexOf(blobEntry(layer().digest));
      writeArchive('truncated.tar', whole.subarray(0, header + 512 + 10));
    },
    act: () => inspectFailure(path.join(archives, 'truncated.tar')),
    cause: () => new RegExp(`truncated\\.tar: tar header at offset \\d+: entry declares ${layer().size} bytes of data but the file ends 10 bytes later \\(truncated archive\\?\\)`),
  }],
  ['archive: a tar truncated in the middle of a header', {
    at: 'archive',
    prepare: () => {
      const whole = tarBytes(tampered({}));
      writeArchive('cut-header.tar', whole.subarray(0, whole.indexOf('index.json') + 200));
    },
    act: () => inspectFailure(path.join(archives, 'cut-header.tar')),
    cause: () => new RegExp(`cut-header\\.tar: truncated tar: 200 stray bytes at offset ${fs.readFileSync(path.join(archives, 'cut-header.tar')).length - 200} where a header should be`),
  }],
  ['archive: a header with a bad checksum', {
    at: 'archive',
    prepare: () => {
      const bytes = tarBytes(tampered({}));
      // index.json is neither the first entry nor named in any data before its header.
      flip(bytes, bytes.indexOf('index.json') + 120);
      writeArchive('bad-checksum.tar', bytes);
    },
    act: () => inspectFailure(path.join(archives, 'bad-checksum.tar')),
    cause: () => new RegExp(`bad-checksum\\.tar: tar header at offset ${fs.readFileSync(path.join(archives, 'bad-checksum.tar')).indexOf('index.json')}: bad checksum \\(corrupt archive\\)`),
  }],
  ['archive: a manifest whose bytes do not match its digest', {
    at: 'archive',
    prepare: () => writeArchive('forged-manifest.tar', tarBytes(tampered({
      [blobEntry(hostile.root.digest)]: (s) => ({ name: s.name, data: Buffer.from(hostile.root.bytes.toString('utf8').replace('"schemaVersion":2', '"schemaVersion":3')) }),
    }))),
    act: () => inspectFailure(path.join(archives, 'forged-manifest.tar')),
    cause: () => new RegExp(`forged-manifest\\.tar: manifest ${hostile.root.digest} referenced by index\\.json does not match its digest \\(its bytes hash to sha256:`),
  }],
  ['archive: a config whose bytes do not match its digest', {
    at: 'archive',
    prepare: () => writeArchive('forged-config.tar', tarBytes(tampered({
      [blobEntry(config().digest)]: (s) => ({ name: s.name, data: Buffer.from(fs.readFileSync(config().path, 'utf8').replace('"amd64"', '"arm64"')) }),
    }))),
    act: () => inspectFailure(path.join(archives, 'forged-config.tar')),
    cause: () => new RegExp(`forged-config\\.tar: config ${config().digest} referenced by manifest ${hostile.root.digest} does not match its digest`),
  }],
  ['archive: a manifest referencing a missing blob', {
    at: 'archive',
    prepare: () => writeArchive('missing-blob.tar', tarBytes(tampered({ [blobEntry(layer().digest)]: () => undefined }))),
    act: () => inspectFailure(path.join(archives, 'missing-blob.tar')),
    cause: () => new RegExp(`missing-blob\\.tar: blob ${layer().digest} referenced by manifest ${hostile.root.digest} is missing`),
  }],
  ['archive: a layer of another size than its descriptor says', {
    at: 'archive',
    prepare: () => writeArchive('short-blob.tar', tarBytes(tampered({ [blobEntry(layer().digest)]: (s) => ({ name: s.name, data: 'short' }) }))),
    act: () => inspectFailure(path.join(archives, 'short-blob.tar')),
    cause: () => new RegExp(`short-blob\\.tar: blob ${layer().digest} referenced by manifest ${hostile.root.digest} is 5 bytes, the descriptor says ${layer().size}`),
  }],
  ['archive: a manifest of an unknown media type', {
    at: 'archive',
    prepare: () => {
      const odd = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example.thing+json', things: [] }));
      const entry = { mediaType: OCI_MANIFEST, digest: sha256(odd), size: odd.length };
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
      const specs = tampered({ 'index.json': (s) => ({ name: s.name, data: index }) }, [{ name: blobEntry(sha256(odd)), data: odd }]);
      writeArchive('unknown-type.tar', tarBytes(specs));
    },
    act: () => inspectFailure(path.join(archives, 'unknown-type.tar')),
    cause: /unknown-type\.tar: manifest sha256:[0-9a-f]{64} has unknown media type 'application\/vnd\.example\.thing\+json'/,
  }],
  ['archive: an index.json digest that is a path', {
    at: 'archive',
    prepare: () => writeArchive('digest-path.tar', tarBytes(tampered({
      'index.json': (s) => ({ name: s.name, data: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: OCI_MANIFEST, digest: 'sha256:../../../outside/secret.txt', size: 1 }] }) }),
    }))),
    act: () => inspectFailure(path.join(archives, 'digest-path.tar')),
    cause: /digest-path\.tar: index\.json manifests\[0\]: malformed digest "sha256:\.\.\/\.\.\/\.\.\/outside\/secret\.txt"/,
  }],
  ['archive: not an archive (random bytes)', {
    at: 'archive',
    prepare: () => writeArchive('random.tar', randomBytes(10_000)),
    act: () => inspectFailure(path.join(archives, 'random.tar')),
    cause: /random\.tar: is not an image archive \(not a tar file: the first header's checksum does not match\)/,
  }],
  ['archive: an empty file', {
    at: 'archive',
    prepare: () => writeArchive('empty.tar', Buffer.alloc(0)),
    act: () => inspectFailure(path.join(archives, 'empty.tar')),
    cause: /empty\.tar: is not an image archive \(the file is empty\)/,
  }],
  ['archive: a tar holding no image', {
    at: 'archive',
    prepare: () => writeArchive('plain.tar', tarBytes([{ name: 'README', data: 'not an image' }])),
    act: () => inspectFailure(path.join(archives, 'plain.tar')),
    cause: /plain\.tar: is not an image archive \(no index\.json or manifest\.json\)/,
  }],
  ['archive: a truncated gzip file', {
    at: 'archive',
    prepare: () => {
      const whole = gzipSync(tarBytes(tampered({})));
      writeArchive('cut.tar.gz', whole.subarray(0, whole.length - 30));
    },
    act: () => inspectFailure(path.join(archives, 'cut.tar.gz')),
    cause: /cut\.tar\.gz: gzip decompression failed: unexpected end of file/,
  }],
  ['archive: a zstd-compressed file', {
    at: 'archive',
    prepare: () => writeArchive('image.tar.zst', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0])),
    act: () => inspectFailure(path.join(archives, 'image.tar.zst')),
    cause: /image\.tar\.zst: is a zstd-compressed file; only uncompressed or gzip-compressed image archives are supported/,
  }],
  ['archive: a docker-save manifest.json whose layer path climbs out', {
    at: 'archive',
    prepare: () => {
      const cfg = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha256(secret.content)] } }));
      const hex = sha256(cfg).slice('sha256:'.length);
      writeArchive('save-traversal.tar', tarBytes([
        { name: `${hex}.json`, data: cfg },
        { name: 'manifest.json', data: JSON.stringify([{ Config: `${hex}.json`, RepoTags: ['x:1'], Layers: ['../outside/secret.txt'] }]) },
      ]));
    },
    act: () => inspectFailure(path.join(archives, 'save-traversal.tar')),
    cause: /save-traversal\.tar: unsafe name with a '\.\.' component "\.\.\/outside\/secret\.txt"/,
  }],
  ['archive: a docker-save layer.tar that is a symlink out', {
    at: 'archive',
    prepare: () => writeArchive('save-symlink.tar', tarBytes([
      { name: 'abc.json', data: JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha256(secret.content)] } }) },
      { name: 'x/layer.tar', type: 'symlink', linkname: '../../outside/secret.txt' },
      { name: 'manifest.json', data: JSON.stringify([{ Config: 'abc.json', RepoTags: ['x:1'], Layers: ['x/layer.tar'] }]) },
    ])),
    act: () => inspectFailure(path.join(archives, 'save-symlink.tar')),
    cause: /save-symlink\.tar: entry at offset \d+: unsafe link: symlink x\/layer\.tar -> \.\.\/\.\.\/outside\/secret\.txt leads outside the archive/,
  }],
  ['archive: a layout directory whose layer is a symlink to the watched file', {
    at: 'archive',
    prepare: () => {
      const dir = copyLayout('dir-symlink');
      const blob = path.join(dir, blobEntry(layer().digest));
      fs.rmSync(blob);
      fs.symlinkSync(secret.file, blob);
    },
    act: () => inspectFailure(path.join(archives, 'dir-symlink')),
    cause: () => new RegExp(`dir-symlink: ${re(blobEntry(layer().digest))} resolves to ${re(fs.realpathSync(secret.file))}, outside the directory`),
  }],
  ['archive: a layout directory whose index.json is a symlink out', {
    at: 'archive',
    prepare: () => {
      const dir = copyLayout('dir-index-symlink');
      fs.rmSync(path.join(dir, 'index.json'));
      fs.symlinkSync('../../outside/secret.txt', path.join(dir, 'index.json'));
    },
    act: () => inspectFailure(path.join(archives, 'dir-index-symlink')),
    cause: () => new RegExp(`dir-index-symlink: index\\.json resolves to ${re(fs.realpathSync(secret.file))}, outside the directory`),
  }],
  ['archive: a layout directory whose blobs directory is a symlink out (to real copies of the blobs)', {
    at: 'archive',
    prepare: () => {
      const dir = copyLayout('dir-blobs-symlink');
      // Outside, the very blobs the image needs: followed, the link would give a valid image.
      fs.cpSync(path.join(dir, 'blobs'), path.join(outside, 'blobs-copy'), { recursive: true });
      fs.rmSync(path.join(dir, 'blobs'), { recursive: true });
      fs.symlinkSync(path.join(outside, 'blobs-copy'), path.join(dir, 'blobs'));
    },
    act: () => inspectFailure(path.join(archives, 'dir-blobs-symlink')),
    cause: () => new RegExp(`dir-blobs-symlink: ${re(blobEntry(hostile.root.digest))} resolves to ${re(fs.realpathSync(outside))}/blobs-copy/sha256/[0-9a-f]{64}, outside the directory`),
  }],
];

describeBadInputs('in archives, by the synth-time inspector', CATALOGUE, 30);
