/**
 * The world of the bad-input catalogue, shared by its layers (synth, handlers, publisher, archive): a baseline
 * registry deployed by the handlers, the images and archives the cases are made from, a watched file outside every
 * archive, the runners of each kind of case, and `expectRefusedAndUnchanged`: refused with its cause, and nothing
 * changed (the registry as it was; no file outside the archive read, written, created or removed).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { handler as imageHandler } from '../../../lambda/image-publisher';
import { handler as registryHandler } from '../../../lambda/registry';
import { handler as repositoryHandler } from '../../../lambda/repository';
import { handler as catalogHandler } from '../../../lambda/repository-catalog-data';
import { handler as policyHandler } from '../../../lambda/repository-policy';
import type { CustomResourceEvent } from '../../../lambda/shared/cfn-response';
import { PublicRepository } from '../../../src';
import { inspectImageArchive } from '../../../src/private/archive/inspect';
import { CatalogDataProperties, PolicyProperties, RegistryProperties, RepositoryProperties, RESOURCE_TYPES } from '../../../src/shared/handler-contract';
import { ImageProperties } from '../../../src/shared/publish-plan';
import { BUCKET, imageProps, stage, Staged, useAssetBucket } from '../../image-publisher/support';
import { makePng, uniqueName } from '../../support/ecr-fixtures';
import { createEvent, Handler, invoke, invokeOk, updateEvent, useHandlerHarness } from '../../support/handler-harness';
import { OciLayoutImage } from '../../support/oci-layout';
import { TarSpec } from '../../support/tar-files';
import { makeTempDir } from '../../support/temp-dirs';
import { buildImage } from '../../support/umoci-images';
import { filesContaining, layoutTarSpecs, registrySnapshot, spyOnS3Reads, treeListing, WatchedFile } from '../support';

export const h = useHandlerHarness();
export const bucket = useAssetBucket(h);
export const FIXTURES = path.resolve(__dirname, '../../fixtures');

/** Everything the cases write or watch: `outside/` (watched), `archives/` (the inputs), `staging/` (the inspector's). */
export let world: string;
export let outside: string;
export let archives: string;
export let staging: string;
/** Synthesized apps go here, outside the watched world. */
export let cdkOut: string;
/** The image layouts the cases are made from, outside the watched world. */
export let layouts: string;
export let secret: WatchedFile;

/** The repository every deploy-time case aims at, with tags, catalog data, a logo, a policy and an image tagged 'stable'. */
export const BASE = uniqueName('rel-base');
export const baseTags = [{ Key: 'team', Value: 'web' }, { Key: 'env', Value: 'prod' }];
export const baseCatalog: CatalogDataProperties = {
  RepositoryName: BASE,
  Description: 'the baseline',
  Architectures: ['x86-64'],
  OperatingSystems: ['Linux'],
  AboutText: '# About',
  UsageText: 'pull it',
  LogoBucket: BUCKET,
  LogoKey: 'logo.png',
};
export const basePolicy: PolicyProperties = {
  RepositoryName: BASE,
  PolicyText: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'ecr-public:PutImage' }] }),
};

/** v1 is published as 'stable'; v2 is what the deploy-time image cases try (and fail) to publish over it. */
export let v1: { source: OciLayoutImage; staged: Staged };
export let v2: { source: OciLayoutImage; staged: Staged };
/** A one-image layout that the archive cases tamper with. */
export let hostileLayout: string;
export let hostile: OciLayoutImage;

/** What a layer's cases need besides the baseline repository: the images v1 and v2, the hostile layout. */
export interface WorldOptions {
  /**
   * Build v1 and v2, stage both, and publish v1 as 'stable' in the baseline repository.
   * @default false
   */
  readonly images?: boolean;
  /**
   * Build the one-image layout that the archive cases tamper with.
   * @default false
   */
  readonly hostile?: boolean;
}

/** Sets up the world of a layer's cases (call once, at the top of its test file). */
export function setUpWorld(options: WorldOptions = {}): void {
  beforeAll(async () => {
    world = makeTempDir('reliability-world-');
    outside = path.join(world, 'outside');
    archives = path.join(world, 'archives');
    staging = path.join(world, 'staging');
    for (const dir of [outside, archives, staging]) fs.mkdirSync(dir);
    cdkOut = makeTempDir('reliability-cdk-out-');
    secret = new WatchedFile(path.join(outside, 'secret.txt'), Buffer.from(`SECRET-${randomBytes(24).toString('hex')}\n`));

    layouts = makeTempDir('reliability-bad-layouts-');
    if (options.images) {
      const imagesLayout = path.join(layouts, 'images');
      const s1 = await buildImage(imagesLayout, { tag: 'v1', layers: 2, files: { 'a.txt': 'one\n', 'b.bin': randomBytes(40_000) } });
      v1 = { source: s1, staged: await stage(bucket.dir, imagesLayout, 'v1') };
      const s2 = await buildImage(imagesLayout, { tag: 'v2', layers: 2, files: { 'a.txt': 'two\n', 'b.bin': randomBytes(40_000) } });
      v2 = { source: s2, staged: await stage(bucket.dir, imagesLayout, 'v2') };
    }
    if (options.hostile) {
      hostileLayout = path.join(layouts, 'hostile');
      hostile = await buildImage(hostileLayout, { tag: 'h', files: { 'hello.txt': 'hello\n' } });
    }

    fs.writeFileSync(path.join(bucket.dir, 'logo.png'), makePng(16, [10, 120, 10]));
    fs.copyFileSync(path.join(FIXTURES, 'not-a-logo.gif'), path.join(bucket.dir, 'logo.gif'));
    fs.writeFileSync(path.join(bucket.dir, 'logo-big.png'), Buffer.concat([makePng(8, [1, 2, 3]), Buffer.alloc(512_001)]));

    // The baseline, deployed by the handlers themselves (their log lines are not wanted here).
    const quiet = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    await invokeOk(h, repositoryHandler, createEvent<RepositoryProperties>(h, RESOURCE_TYPES.repository, { RepositoryName: BASE, Tags: baseTags }));
    await invokeOk(h, catalogHandler, createEvent(h, RESOURCE_TYPES.catalogData, baseCatalog));
    await invokeOk(h, policyHandler, createEvent(h, RESOURCE_TYPES.policy, basePolicy));
    await invokeOk(h, registryHandler, createEvent<RegistryProperties>(h, RESOURCE_TYPES.registry, { DisplayName: 'Baseline' }));
    if (options.images) {
      await invokeOk(h, imageHandler, createEvent<ImageProperties>(h, RESOURCE_TYPES.image, imageProps(v1.staged, BASE, { Tags: ['stable'] })));
    }
    quiet.mockRestore();
  }, 110_000);

  afterAll(() => {
    for (const dir of [world, cdkOut, layouts, bucket.dir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// How each kind of case is run

/** Builds a stack with `build` and synthesizes it; returns the error message (fails when nothing was refused). */
export function synthFailure(build: (stack: Stack) => void): Promise<string> {
  const app = new App({ outdir: fs.mkdtempSync(path.join(cdkOut, 'app-')) });
  const stack = new Stack(app, 'BadStack');
  try {
    build(stack);
    app.synth();
  } catch (err) {
    return Promise.resolve((err as Error).message);
  }
  throw new Error('expected synthesis to fail, but it succeeded');
}

/** Runs the handler on `event`; returns the FAILED response's reason (fails on SUCCESS). */
export async function deployFailure<P>(handler: Handler<P>, event: CustomResourceEvent<P>): Promise<string> {
  const res = await invoke(h, handler, event);
  if (res.Status !== 'FAILED') throw new Error(`expected FAILED, got ${res.Status} ${JSON.stringify(res.Data ?? {})}`);
  return res.Reason ?? '';
}

/**
 * Publishes with `props` and returns the FAILED reason; checks that the handler read nothing but byte ranges of its
 * own archive object.
 */
export async function publishFailure(props: ImageProperties): Promise<string> {
  const reads = spyOnS3Reads();
  const reason = await deployFailure(imageHandler, createEvent<ImageProperties>(h, RESOURCE_TYPES.image, props));
  for (const read of reads) {
    expect(read).toEqual({ bucket: props.ArchiveBucket, key: props.ArchiveKey, range: expect.stringMatching(/^bytes=\d+-\d+$/) });
  }
  return reason;
}

/** Runs the synth-time inspector on `source` with the watched staging directory; returns its error message. */
export function inspectFailure(source: string, ref?: string): Promise<string> {
  try {
    inspectImageArchive(source, { ref, stagingDir: staging });
  } catch (err) {
    return Promise.resolve((err as Error).message);
  }
  throw new Error('expected the inspector to refuse the archive');
}

/** Writes `bytes` as the archive `name` in the archives directory. */
export function writeArchive(name: string, bytes: Buffer): string {
  const file = path.join(archives, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** A copy of the hostile layout as a directory `name` in the archives directory. */
export function copyLayout(name: string): string {
  const dir = path.join(archives, name);
  fs.cpSync(hostileLayout, dir, { recursive: true });
  return dir;
}

/** The hostile layout as tar entries, with `change` applied to the entry of `name` (undefined removes it). */
export function tampered(replace: Record<string, (spec: TarSpec) => TarSpec | undefined>, extra: TarSpec[] = []): TarSpec[] {
  const specs = layoutTarSpecs(hostileLayout).flatMap((s) => {
    const change = replace[s.name];
    if (!change) return [s];
    const out = change(s);
    return out ? [out] : [];
  });
  return [...specs, ...extra];
}

export const layer = (): OciLayoutImage['blobs'][number] => hostile.blobs.find((b) => b.mediaType.includes('layer'))!;
export const config = (): OciLayoutImage['blobs'][number] => hostile.blobs.find((b) => b.mediaType.includes('config'))!;
/** The path from a blob entry (`blobs/sha256/<hex>`) of an archive extracted next to it to the watched file. */
export const UP_TO_WORLD = '../../../../outside/secret.txt';

/** A staged copy of v2's archive, under `key`, with `mutate` applied to its bytes. */
export function corruptCopy(key: string, repositoryName: string, mutate: (bytes: Buffer) => void): ImageProperties {
  const bytes = fs.readFileSync(path.join(bucket.dir, v2.staged.key));
  mutate(bytes);
  fs.writeFileSync(path.join(bucket.dir, key), bytes);
  return imageProps(v2.staged, repositoryName, { ArchiveKey: key, Tags: ['stable'] });
}

export const v2Layer = (): Staged['plan']['blobs'][number] => v2.staged.plan.blobs.reduce((a, b) => (b.size > a.size ? b : a));
export const v2Config = (): Staged['plan']['blobs'][number] => v2.staged.plan.blobs.find((b) => b.mediaType?.includes('config'))!;

/** Changes the byte at `offset`. */
export function flip(bytes: Buffer, offset: number): void {
  bytes[offset] = 255 - bytes[offset];
}

/** Escapes `text` for a RegExp. */
export const re = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

// ---------------------------------------------------------------------------------------------------------------
// The catalogue

export interface BadInput {
  /** Where the input is refused. */
  readonly at: 'synth' | 'deploy' | 'archive';
  /** Writes the input before the registry and the files are snapshotted. */
  readonly prepare?: () => unknown;
  /** Feeds the input; resolves with the error message. */
  readonly act: () => Promise<string>;
  /** What the message must say (a function when it names values known only at run time). */
  readonly cause: RegExp | (() => RegExp);
  /** Files that must not exist afterwards (where a traversal would have written). */
  readonly neverCreated?: () => string[];
}

export const repo = (props: ConstructorParameters<typeof PublicRepository>[2]) => (stack: Stack): void => {
  new PublicRepository(stack, 'Repo', props);
};
/** An archive path that is never read: the cases using it are refused before the source is. */
export const NEVER_READ = '/nonexistent/never-read.tar';
export const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
export const tmpLogo = (name: string, bytes: Buffer): string => {
  const file = path.join(cdkOut, name);
  fs.writeFileSync(file, bytes);
  return file;
};
export const repoEvent = (props: RepositoryProperties) => createEvent(h, RESOURCE_TYPES.repository, props);
export const catalogUpdate = (changes: Partial<CatalogDataProperties>) =>
  updateEvent<CatalogDataProperties>(h, RESOURCE_TYPES.catalogData, `${BASE}/catalog-data`, { ...baseCatalog, ...changes }, baseCatalog);
export const policyUpdate = (text: string) =>
  updateEvent<PolicyProperties>(h, RESOURCE_TYPES.policy, `${BASE}/policy`, { RepositoryName: BASE, PolicyText: text }, basePolicy);
export const statement = { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'ecr-public:PutImage' };
export const v2Props = (overrides: Partial<ImageProperties>): ImageProperties => imageProps(v2.staged, BASE, { Tags: ['stable'], ...overrides });
/**
 * A case publishing v2 over v1 ('stable') in a repository of its own, made in `prepare`: blobs an earlier case left
 * in BASE would be skipped (the registry has them), and never read.
 */
export function ownRepository(props: (repositoryName: string) => ImageProperties, cause: () => RegExp): BadInput {
  let name = '';
  return {
    at: 'deploy',
    prepare: async () => {
      name = uniqueName('rel-img');
      await invokeOk(h, repositoryHandler, createEvent<RepositoryProperties>(h, RESOURCE_TYPES.repository, { RepositoryName: name }));
      await invokeOk(h, imageHandler, createEvent<ImageProperties>(h, RESOURCE_TYPES.image, imageProps(v1.staged, name, { Tags: ['stable'] })));
    },
    act: () => publishFailure(props(name)),
    cause,
  };
}
export const planWith = (change: (plan: any) => void): string => {
  const plan = JSON.parse(JSON.stringify(v2.staged.plan));
  change(plan);
  return JSON.stringify(plan);
};

/**
 * Runs one case and asserts what this suite is for: the input is refused with its cause, and nothing changed: the
 * registry shows exactly what it showed before, and nothing outside the archive and the staging directory was read,
 * written, created or removed.
 */
export async function expectRefusedAndUnchanged(c: BadInput): Promise<void> {
  await c.prepare?.();
  const registryBefore = await registrySnapshot(h.client);
  const filesBefore = treeListing(world, [staging]);
  secret.arm();

  const message = await c.act();

  expect(message).toMatch(typeof c.cause === 'function' ? c.cause() : c.cause);
  expect(await registrySnapshot(h.client)).toEqual(registryBefore);
  // Nothing outside the archive and the staging directory was read, written, created or removed.
  expect(secret.wasRead()).toBe(false);
  expect(treeListing(world, [staging])).toEqual(filesBefore);
  expect(message).not.toContain(secret.content.toString('utf8').trim());
  expect(filesContaining([staging, bucket.dir, h.emu.root, cdkOut], secret.content)).toEqual([]);
  for (const file of c.neverCreated?.() ?? []) expect(fs.existsSync(file)).toBe(false);
}

/** The tests of one layer's catalogue: its size, the watch on the file outside, and each case. */
export function describeBadInputs(where: string, catalogue: Array<[string, BadInput]>, minimum: number): void {
  describe(`bad inputs ${where}: each is refused with its cause and changes nothing`, () => {
    test(`the catalogue has at least ${minimum} entries (it has ${catalogue.length})`, () => {
      expect(catalogue.length).toBeGreaterThanOrEqual(minimum);
      expect(new Set(catalogue.map(([name]) => name)).size).toBe(catalogue.length);
    });

    test('the watched file records reads (so the "never read" checks below can fail)', () => {
      secret.arm();
      expect(secret.wasRead()).toBe(false);
      fs.readFileSync(secret.file);
      expect(secret.wasRead()).toBe(true);
      secret.arm();
    });

    test.each(catalogue)('%s', async (_name, c) => {
      await expectRefusedAndUnchanged(c);
    });
  });
}
