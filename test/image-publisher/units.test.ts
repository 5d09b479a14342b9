import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { BatchCheckLayerAvailabilityCommand } from '@aws-sdk/client-ecr-public';
import { BLOCK_BYTES, gzipChunks, isIncompressible } from '../../lambda/image-publisher/layer-compression';
import { rewriteManifests } from '../../lambda/image-publisher/manifest-rewrite';
import { PartReader } from '../../lambda/image-publisher/part-reader';
import { missingBlobs } from '../../lambda/image-publisher/publish';
import { parsePlan, parseSettings } from '../../lambda/image-publisher/settings';
import { forEachConcurrent } from '../../lambda/shared/pool';
import { sha256 } from '../../src/shared/oci/digest';
import { PlanManifest, PublishPlan } from '../../src/shared/publish-plan';

async function* chunked(data: Buffer, sizes: () => number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length;) {
    const n = Math.max(1, sizes());
    yield data.subarray(i, i + n);
    i += n;
  }
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

function manifest(json: object, mediaType: string): PlanManifest {
  const text = JSON.stringify(json);
  return { digest: sha256(text), mediaType, manifest: text };
}

const hex = (c: string) => `sha256:${c.repeat(64)}`;

describe('gzip of layers', () => {
  test('gives the same bytes however the input is cut into chunks, with no timestamp in the header', async () => {
    const data = Buffer.concat([randomBytes(60_000), Buffer.from('repetitive '.repeat(10_000))]);
    const whole = await collect(gzipChunks(chunked(data, () => data.length)));
    const tiny = await collect(gzipChunks(chunked(data, () => 7)));
    let seed = 1;
    const random = await collect(gzipChunks(chunked(data, () => (seed = (seed * 48271) % 2147483647) % 100_000)));
    expect(Buffer.compare(tiny, whole)).toBe(0);
    expect(Buffer.compare(random, whole)).toBe(0);
    expect(whole.readUInt32LE(4)).toBe(0); // MTIME
    expect(Buffer.compare(gunzipSync(whole), data)).toBe(0);
  });

  test('gives the digest it gave when this was written: a Node.js or zlib whose output differs is caught here', async () => {
    // A layer's compressed digest is published: if it changed with the runtime, every compressed layer would be
    // published again (README, compressLayers). Half hash output (incompressible), half text, cut into odd chunks.
    const blocks = Array.from({ length: 2048 }, (_, i) => createHash('sha256').update(`layer block ${i}`).digest());
    const data = Buffer.concat([...blocks, Buffer.from('usr/lib/node_modules/some-package/lib/index.js\n'.repeat(2000))]);
    const gz = await collect(gzipChunks(chunked(data, () => 4099)));
    expect(Buffer.compare(gunzipSync(gz), data)).toBe(0);
    expect(sha256(gz)).toBe('sha256:00c536389504c1bfe30d713856df73fba547ad7e12db2d07386780f0298df8b4');
  });

  test('stores the blocks that do not compress, and the output still depends on the input alone', async () => {
    // Three blocks that do not compress (hash output) around text, with a short last block: levels change at block
    // boundaries only, so any cut of the input gives the same bytes.
    const noise = (n: number, label: string) => Buffer.concat(Array.from({ length: n / 32 }, (_, i) => createHash('sha256').update(`${label} ${i}`).digest()));
    const text = Buffer.from('etc/ssl/certs/ca-certificates.crt\n'.repeat(Math.ceil((BLOCK_BYTES * 1.5) / 34))).subarray(0, BLOCK_BYTES * 1.5);
    const data = Buffer.concat([noise(BLOCK_BYTES, 'a'), text, noise(BLOCK_BYTES, 'b'), noise(300_000, 'c')]);
    expect(isIncompressible(data.subarray(0, BLOCK_BYTES))).toBe(true);
    expect(isIncompressible(data.subarray(BLOCK_BYTES, 2 * BLOCK_BYTES))).toBe(false);
    const whole = await collect(gzipChunks(chunked(data, () => data.length)));
    let seed = 7;
    const cut = await collect(gzipChunks(chunked(data, () => (seed = (seed * 48271) % 2147483647) % 700_000)));
    expect(Buffer.compare(cut, whole)).toBe(0);
    expect(Buffer.compare(gunzipSync(whole), data)).toBe(0);
    // The text is deflated, the rest stored: the output is the noise plus a little.
    expect(whole.length).toBeGreaterThan(2 * BLOCK_BYTES + 300_000);
    expect(whole.length).toBeLessThan(2 * BLOCK_BYTES + 300_000 + 50_000);
    // Pinned as for the test above: a runtime whose output differs, or a change of how blocks are judged, is caught.
    expect(sha256(whole)).toBe('sha256:0c83a7c6933b496bc88bc9d95f47aae63af2bdbd9360e4ed7efa93baa1b0532e');
  });

  test('passes every input chunk to the tap, and a failing source fails the stream', async () => {
    const seen: number[] = [];
    await collect(gzipChunks(chunked(Buffer.alloc(1000), () => 100), (c) => seen.push(c.length)));
    expect(seen).toEqual(Array(10).fill(100));
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(10);
      throw new Error('S3 went away');
    }
    await expect(collect(gzipChunks(failing()))).rejects.toThrow('S3 went away');
  });
});

describe('PartReader', () => {
  const part = async (chunks: AsyncIterable<Buffer>): Promise<{ bytes: Buffer; sizes: number[] }> => {
    const got: Buffer[] = [];
    for await (const chunk of chunks) got.push(chunk);
    return { bytes: Buffer.concat(got), sizes: got.map((c) => c.length) };
  };

  test('cuts a stream into full parts and a shorter last one, as the chunks of the source, and takes back the unsent tail of a part', async () => {
    const data = randomBytes(2500);
    const reader = new PartReader(chunked(data, () => 333), 1000);
    const first = await part(reader.chunks());
    expect(first.bytes).toEqual(data.subarray(0, 1000));
    expect(first.sizes).toEqual([333, 333, 333, 1]);
    // The registry took only 600 bytes of the first part: the next part starts at byte 600.
    reader.unread(first.bytes.subarray(600));
    expect((await part(reader.chunks())).bytes).toEqual(data.subarray(600, 1600));
    // A part asked shorter than the part size stops there; one asked longer is still one part.
    expect((await part(reader.chunks(100))).bytes).toEqual(data.subarray(1600, 1700));
    expect((await part(reader.chunks(5000))).bytes).toEqual(data.subarray(1700, 2500));
    expect((await part(reader.chunks())).sizes).toEqual([]);
  });

  test('an empty source has no part', async () => {
    expect((await part(new PartReader(chunked(Buffer.alloc(0), () => 1), 10).chunks())).sizes).toEqual([]);
  });
});

describe('rewriteManifests', () => {
  const compressed = new Map([[hex('a'), { digest: hex('b'), size: 42 }]]);

  test('a Docker manifest gets the Docker gzip type, an OCI one the OCI type; the config stays', () => {
    const docker = manifest({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: hex('c'), size: 10 },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: hex('a'), size: 100 }],
    }, 'application/vnd.docker.distribution.manifest.v2+json');
    const oci = manifest({
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: hex('c'), size: 10 },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: hex('a'), size: 100, annotations: { keep: 'me' } },
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: hex('d'), size: 5 },
      ],
    }, 'application/vnd.oci.image.manifest.v1+json');
    const [d, o] = rewriteManifests([docker, oci], compressed);
    expect(JSON.parse(d.manifest).layers).toEqual([{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: hex('b'), size: 42 }]);
    expect(JSON.parse(o.manifest).layers).toEqual([
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: hex('b'), size: 42, annotations: { keep: 'me' } },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: hex('d'), size: 5 },
    ]);
    expect(JSON.parse(o.manifest).config).toEqual(JSON.parse(oci.manifest).config);
    expect(d.digest).toBe(sha256(d.manifest));
    expect(o.digest).toBe(sha256(o.manifest));
  });

  test('an index gets the new digests and sizes of its rewritten children; untouched manifests keep their bytes', () => {
    const changed = manifest({ schemaVersion: 2, config: { digest: hex('c'), size: 1 }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: hex('a'), size: 100 }] },
      'application/vnd.oci.image.manifest.v1+json');
    // Odd spacing: re-serialising it would change its digest.
    const untouchedText = '{ "schemaVersion": 2, "config": {"digest": "' + hex('c') + '", "size": 1}, "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "' + hex('e') + '", "size": 3}] }';
    const untouched: PlanManifest = { digest: sha256(untouchedText), mediaType: 'application/vnd.oci.image.manifest.v1+json', manifest: untouchedText };
    const index = manifest({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: changed.digest, size: changed.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: untouched.digest, size: untouchedText.length, platform: { architecture: 'arm64', os: 'linux' } },
      ],
    }, 'application/vnd.oci.image.index.v1+json');
    const [c, u, i] = rewriteManifests([changed, untouched, index], compressed);
    expect(u).toBe(untouched);
    expect(c.digest).not.toBe(changed.digest);
    expect(JSON.parse(i.manifest).manifests).toEqual([
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: c.digest, size: Buffer.byteLength(c.manifest), platform: { architecture: 'amd64', os: 'linux' } },
      JSON.parse(index.manifest).manifests[1],
    ]);
    expect(i.digest).toBe(sha256(i.manifest));
    // Nothing to compress: everything is kept byte for byte.
    expect(rewriteManifests([untouched], compressed)).toEqual([untouched]);
  });
});

describe('properties', () => {
  const m = manifest({ schemaVersion: 2 }, 'application/vnd.oci.image.manifest.v1+json');
  const plan: PublishPlan = { version: 1, blobs: [{ digest: hex('a'), size: 1, offset: 512 }], manifests: [m], rootDigest: m.digest };

  test('a plan whose manifest text does not hash to its digest, or whose root is not last, is refused', () => {
    expect(() => parsePlan(JSON.stringify({ ...plan, manifests: [{ ...m, manifest: m.manifest + ' ' }] }))).toThrow(/manifests\[0\] is digested .* but its text hashes to/);
    expect(() => parsePlan(JSON.stringify({ ...plan, rootDigest: hex('f') }))).toThrow(/rootDigest .* is not the digest of the last manifest/);
    expect(() => parsePlan(JSON.stringify({ ...plan, blobs: [{ digest: hex('a'), size: -1, offset: 0 }] }))).toThrow(/size .* must be a non-negative integer/);
    expect(parsePlan(JSON.stringify(plan))).toEqual(plan);
  });

  test('referrers must be the image\'s: each one\'s subject a manifest of the image or an earlier referrer, or a child of a later one', () => {
    const referrer = (subject: string | undefined, extra: object = {}) => manifest({
      schemaVersion: 2, config: {}, layers: [], ...(subject ? { subject: { mediaType: m.mediaType, digest: subject, size: 1 } } : {}), ...extra,
    }, 'application/vnd.oci.image.manifest.v1+json');
    const sbom = referrer(m.digest);
    const signature = referrer(sbom.digest);
    const child = referrer(undefined, { annotations: { n: '1' } });
    const index = manifest({ schemaVersion: 2, manifests: [{ digest: child.digest }], subject: { digest: m.digest } }, 'application/vnd.oci.image.index.v1+json');
    const good = { ...plan, referrers: [sbom, signature, child, index] };
    expect(parsePlan(JSON.stringify(good))).toEqual(good);
    expect(() => parsePlan(JSON.stringify({ ...plan, referrers: [signature, sbom] }))).toThrow(`referrer ${signature.digest} is not a referrer of the image`);
    expect(() => parsePlan(JSON.stringify({ ...plan, referrers: [referrer(hex('e'))] }))).toThrow(/is no manifest of the image or an earlier referrer/);
    expect(() => parsePlan(JSON.stringify({ ...plan, referrers: [child] }))).toThrow(/its subject is missing/);
    const notJson = { digest: sha256('not json'), mediaType: m.mediaType, manifest: 'not json' };
    expect(() => parsePlan(JSON.stringify({ ...plan, referrers: [notJson] }))).toThrow(`Plan: referrer ${notJson.digest} is not JSON`);
  });

  test('scalars arrive as strings: flags, concurrency and tags are checked', () => {
    const props = {
      RepositoryName: 'r',
      ArchiveBucket: 'b',
      ArchiveKey: 'k',
      Plan: JSON.stringify(plan),
      SourceDigest: m.digest,
      CompressLayers: 'true',
      Concurrency: '8',
      DeleteOnRemove: 'false',
      Tags: ['a', 'b', 'a'],
    };
    expect(parseSettings(props)).toMatchObject({ compressLayers: true, concurrency: 8, deleteOnRemove: false, tags: ['a', 'b'] });
    expect(parseSettings({ ...props, Concurrency: '' }).concurrency).toBe(4);
    expect(() => parseSettings({ ...props, Concurrency: '0' })).toThrow(/Concurrency must be an integer/);
    expect(() => parseSettings({ ...props, CompressLayers: 'yes' })).toThrow(/CompressLayers must be 'true' or 'false'/);
    expect(() => parseSettings({ ...props, SourceDigest: hex('f') })).toThrow(/is not the plan's root digest/);
  });

  test('the attached files\' plan is checked member by member', () => {
    const artifact = { artifactType: 'application/spdx+json', mediaType: 'application/json', title: 'sbom.json', digest: hex('b'), size: 10, offset: 512 };
    const props = {
      RepositoryName: 'r',
      ArchiveBucket: 'b',
      ArchiveKey: 'k',
      Plan: JSON.stringify(plan),
      CompressLayers: 'false',
      Concurrency: '1',
      DeleteOnRemove: 'false',
      ArtifactsBucket: 'b',
      ArtifactsKey: 'a.tar',
    };
    const withArtifacts = (a: object) => ({ ...props, Artifacts: JSON.stringify({ version: 1, artifacts: [a] }) });
    expect(parseSettings(withArtifacts(artifact)).artifacts).toEqual({ bucket: 'b', key: 'a.tar', artifacts: [artifact] });
    expect(() => parseSettings({ ...withArtifacts(artifact), ArtifactsKey: undefined })).toThrow(/Artifacts needs ArtifactsBucket and ArtifactsKey/);
    expect(() => parseSettings(withArtifacts({ ...artifact, artifactType: 'spdx' }))).toThrow(/artifacts\[0\]\.artifactType must be a media type/);
    expect(() => parseSettings(withArtifacts({ ...artifact, size: 0 }))).toThrow(/artifacts\[0\]\.size must be 1 to/);
    expect(() => parseSettings(withArtifacts({ ...artifact, digest: 'latest' }))).toThrow(/artifacts\[0\]\.digest "latest" is not a sha256 digest/);
    expect(() => parseSettings(withArtifacts({ ...artifact, annotations: { a: 1 } }))).toThrow(/annotations must map strings to strings/);
  });
});

describe('helpers', () => {
  test('BatchCheckLayerAvailability is asked at most 100 digests at a time; UNAVAILABLE and MissingLayerDigest are missing', async () => {
    const digests = Array.from({ length: 250 }, (_, i) => 'sha256:' + createHash('sha256').update(String(i)).digest('hex'));
    const batches: number[] = [];
    // By position: every third a MissingLayerDigest failure, of the others the odd ones AVAILABLE.
    const state = (d: string) => {
      const g = digests.indexOf(d);
      return g % 3 === 2 ? 'failure' : g % 2 === 1 ? 'AVAILABLE' : 'UNAVAILABLE';
    };
    const ecr = {
      send: async (command: BatchCheckLayerAvailabilityCommand) => {
        const asked = command.input.layerDigests!;
        batches.push(asked.length);
        return {
          layers: asked.filter((d) => state(d) !== 'failure').map((d) => ({ layerDigest: d, layerAvailability: state(d) })),
          failures: asked.filter((d) => state(d) === 'failure').map((d) => ({ layerDigest: d, failureCode: 'MissingLayerDigest' })),
        };
      },
    };
    const missing = await missingBlobs(ecr as any, 'repo', digests);
    expect(batches).toEqual([100, 100, 50]);
    expect([...missing].sort()).toEqual(digests.filter((d) => state(d) !== 'AVAILABLE').sort());
    const refusing = { send: async () => ({ layers: [], failures: [{ layerDigest: 'x', failureCode: 'InvalidLayerDigest', failureReason: 'bad' }] }) };
    await expect(missingBlobs(refusing as any, 'repo', ['x'])).rejects.toThrow('BatchCheckLayerAvailability refused x: InvalidLayerDigest bad');
  });

  test('forEachConcurrent keeps to its limit and starts nothing new after a failure', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const work = forEachConcurrent([1, 2, 3, 4, 5, 6, 7, 8], 3, async (n) => {
      started.push(n);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (n === 2) throw new Error('two failed');
    });
    await expect(work).rejects.toThrow('two failed');
    expect(peak).toBe(3);
    expect(started.length).toBeLessThan(8);
    expect(running).toBe(0);
  });
});
