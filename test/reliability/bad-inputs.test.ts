/**
 * A catalogue of bad inputs, one table row each: invalid names, lengths, enum-like values, logos, policies and tags
 * (refused at synth by the constructs, or at deploy by the handlers and the API), bad image-publisher properties and
 * plans, and corrupt or hostile archives (refused by the synth-time inspector, or at deploy by the publisher).
 *
 * Every row must fail with a message naming the cause, and leave the registry exactly as it was (repositories, tags,
 * catalog data, policies, images and their tags, the registry's display name). Every row also runs under watch of the
 * files outside the archive: a file the hostile archives point at must not be read (its access time is armed; its
 * content must appear nowhere), and no file may appear, change or vanish outside the staging directory.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { App, RemovalPolicy, Stack, Tags, aws_iam as iam } from 'aws-cdk-lib';
import {
  blobEntry, filesContaining, layoutTarSpecs, registrySnapshot, spyOnS3Reads, treeListing, WatchedFile,
} from './support';
import { handler as imageHandler } from '../../lambda/image-publisher';
import { handler as registryHandler } from '../../lambda/registry';
import { handler as repositoryHandler } from '../../lambda/repository';
import { handler as catalogHandler } from '../../lambda/repository-catalog-data';
import { handler as policyHandler } from '../../lambda/repository-policy';
import type { CustomResourceEvent } from '../../lambda/shared/cfn-response';
import {
  Architecture, CatalogText, ImageSource, Logo, OperatingSystem, PublicImage, PublicRegistry, PublicRepository, PublicRepositoryPolicy,
} from '../../src';
import { inspectImageArchive } from '../../src/private/archive/inspect';
import { CatalogDataProperties, PolicyProperties, RegistryProperties, RepositoryProperties, RESOURCE_TYPES } from '../../src/private/handler-contract';
import { sha256 } from '../../src/private/oci/digest';
import { OCI_MANIFEST } from '../../src/private/oci/media-types';
import { ImageProperties } from '../../src/private/publish-plan';
import { BUCKET, imageProps, stage, Staged, useAssetBucket } from '../image-publisher/support';
import { createEvent, Handler, invoke, invokeOk, makePng, tempDir, uniqueName, updateEvent, useHandlerHarness } from '../lambda/support';
import { OciLayoutImage } from '../support/oci-layout';
import { tarBytes, TarSpec } from '../support/tar-files';
import { buildImage } from '../support/umoci-images';

const h = useHandlerHarness();
const bucket = useAssetBucket(h);
const FIXTURES = path.resolve(__dirname, '../fixtures');

/** Everything the cases write or watch: `outside/` (watched), `archives/` (the inputs), `staging/` (the inspector's). */
let world: string;
let outside: string;
let archives: string;
let staging: string;
/** Synthesized apps go here, outside the watched world. */
let cdkOut: string;
/** The image layouts the cases are made from, outside the watched world. */
let layouts: string;
let secret: WatchedFile;

/** The repository every deploy-time case aims at, with tags, catalog data, a logo, a policy and an image tagged 'stable'. */
const BASE = uniqueName('rel-base');
const baseTags = [{ Key: 'team', Value: 'web' }, { Key: 'env', Value: 'prod' }];
const baseCatalog: CatalogDataProperties = {
  RepositoryName: BASE,
  Description: 'the baseline',
  Architectures: ['x86-64'],
  OperatingSystems: ['Linux'],
  AboutText: '# About',
  UsageText: 'pull it',
  LogoBucket: BUCKET,
  LogoKey: 'logo.png',
};
const basePolicy: PolicyProperties = {
  RepositoryName: BASE,
  PolicyText: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'ecr-public:PutImage' }] }),
};

/** v1 is published as 'stable'; v2 is what the deploy-time image cases try (and fail) to publish over it. */
let v1: { source: OciLayoutImage; staged: Staged };
let v2: { source: OciLayoutImage; staged: Staged };
/** A one-image layout that the archive cases tamper with. */
let hostileLayout: string;
let hostile: OciLayoutImage;

beforeAll(async () => {
  world = tempDir('reliability-world-');
  outside = path.join(world, 'outside');
  archives = path.join(world, 'archives');
  staging = path.join(world, 'staging');
  for (const dir of [outside, archives, staging]) fs.mkdirSync(dir);
  cdkOut = tempDir('reliability-cdk-out-');
  secret = new WatchedFile(path.join(outside, 'secret.txt'), Buffer.from(`SECRET-${randomBytes(24).toString('hex')}\n`));

  layouts = tempDir('reliability-bad-layouts-');
  const imagesLayout = path.join(layouts, 'images');
  const s1 = await buildImage(imagesLayout, { tag: 'v1', layers: 2, files: { 'a.txt': 'one\n', 'b.bin': randomBytes(40_000) } });
  v1 = { source: s1, staged: await stage(bucket.dir, imagesLayout, 'v1') };
  const s2 = await buildImage(imagesLayout, { tag: 'v2', layers: 2, files: { 'a.txt': 'two\n', 'b.bin': randomBytes(40_000) } });
  v2 = { source: s2, staged: await stage(bucket.dir, imagesLayout, 'v2') };
  hostileLayout = path.join(layouts, 'hostile');
  hostile = await buildImage(hostileLayout, { tag: 'h', files: { 'hello.txt': 'hello\n' } });

  fs.writeFileSync(path.join(bucket.dir, 'logo.png'), makePng(16, [10, 120, 10]));
  fs.copyFileSync(path.join(FIXTURES, 'not-a-logo.gif'), path.join(bucket.dir, 'logo.gif'));
  fs.writeFileSync(path.join(bucket.dir, 'logo-big.png'), Buffer.concat([makePng(8, [1, 2, 3]), Buffer.alloc(512_001)]));

  // The baseline, deployed by the handlers themselves (their log lines are not wanted here).
  const quiet = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  await invokeOk(h, repositoryHandler, createEvent<RepositoryProperties>(h, RESOURCE_TYPES.repository, { RepositoryName: BASE, Tags: baseTags }));
  await invokeOk(h, catalogHandler, createEvent(h, RESOURCE_TYPES.catalogData, baseCatalog));
  await invokeOk(h, policyHandler, createEvent(h, RESOURCE_TYPES.policy, basePolicy));
  await invokeOk(h, registryHandler, createEvent<RegistryProperties>(h, RESOURCE_TYPES.registry, { DisplayName: 'Baseline' }));
  await invokeOk(h, imageHandler, createEvent<ImageProperties>(h, RESOURCE_TYPES.image, imageProps(v1.staged, BASE, { Tags: ['stable'] })));
  quiet.mockRestore();
}, 110_000);

afterAll(() => {
  for (const dir of [world, cdkOut, layouts, bucket.dir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// How each kind of case is run

/** Builds a stack with `build` and synthesizes it; returns the error message (fails when nothing was refused). */
function synthFailure(build: (stack: Stack) => void): Promise<string> {
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
async function deployFailure<P>(handler: Handler<P>, event: CustomResourceEvent<P>): Promise<string> {
  const res = await invoke(h, handler, event);
  if (res.Status !== 'FAILED') throw new Error(`expected FAILED, got ${res.Status} ${JSON.stringify(res.Data ?? {})}`);
  return res.Reason ?? '';
}

/**
 * Publishes with `props` and returns the FAILED reason; checks that the handler read nothing but byte ranges of its
 * own archive object.
 */
async function publishFailure(props: ImageProperties): Promise<string> {
  const reads = spyOnS3Reads();
  const reason = await deployFailure(imageHandler, createEvent<ImageProperties>(h, RESOURCE_TYPES.image, props));
  for (const read of reads) {
    expect(read).toEqual({ bucket: props.ArchiveBucket, key: props.ArchiveKey, range: expect.stringMatching(/^bytes=\d+-\d+$/) });
  }
  return reason;
}

/** Runs the synth-time inspector on `source` with the watched staging directory; returns its error message. */
function inspectFailure(source: string, ref?: string): Promise<string> {
  try {
    inspectImageArchive(source, { ref, stagingDir: staging });
  } catch (err) {
    return Promise.resolve((err as Error).message);
  }
  throw new Error('expected the inspector to refuse the archive');
}

/** Writes `bytes` as the archive `name` in the archives directory. */
function writeArchive(name: string, bytes: Buffer): string {
  const file = path.join(archives, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** A copy of the hostile layout as a directory `name` in the archives directory. */
function copyLayout(name: string): string {
  const dir = path.join(archives, name);
  fs.cpSync(hostileLayout, dir, { recursive: true });
  return dir;
}

/** The hostile layout as tar entries, with `change` applied to the entry of `name` (undefined removes it). */
function tampered(replace: Record<string, (spec: TarSpec) => TarSpec | undefined>, extra: TarSpec[] = []): TarSpec[] {
  const specs = layoutTarSpecs(hostileLayout).flatMap((s) => {
    const change = replace[s.name];
    if (!change) return [s];
    const out = change(s);
    return out ? [out] : [];
  });
  return [...specs, ...extra];
}

const layer = (): OciLayoutImage['blobs'][number] => hostile.blobs.find((b) => b.mediaType.includes('layer'))!;
const config = (): OciLayoutImage['blobs'][number] => hostile.blobs.find((b) => b.mediaType.includes('config'))!;
/** The path from a blob entry (`blobs/sha256/<hex>`) of an archive extracted next to it to the watched file. */
const UP_TO_WORLD = '../../../../outside/secret.txt';

/** A staged copy of v2's archive, under `key`, with `mutate` applied to its bytes. */
function corruptCopy(key: string, repositoryName: string, mutate: (bytes: Buffer) => void): ImageProperties {
  const bytes = fs.readFileSync(path.join(bucket.dir, v2.staged.key));
  mutate(bytes);
  fs.writeFileSync(path.join(bucket.dir, key), bytes);
  return imageProps(v2.staged, repositoryName, { ArchiveKey: key, Tags: ['stable'] });
}

const v2Layer = (): Staged['plan']['blobs'][number] => v2.staged.plan.blobs.reduce((a, b) => (b.size > a.size ? b : a));
const v2Config = (): Staged['plan']['blobs'][number] => v2.staged.plan.blobs.find((b) => b.mediaType?.includes('config'))!;

/** Changes the byte at `offset`. */
function flip(bytes: Buffer, offset: number): void {
  bytes[offset] = 255 - bytes[offset];
}

/** Escapes `text` for a RegExp. */
const re = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

// ---------------------------------------------------------------------------------------------------------------
// The catalogue

interface BadInput {
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

const repo = (props: ConstructorParameters<typeof PublicRepository>[2]) => (stack: Stack): void => {
  new PublicRepository(stack, 'Repo', props);
};
/** An archive path that is never read: the cases using it are refused before the source is. */
const NEVER_READ = '/nonexistent/never-read.tar';
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const tmpLogo = (name: string, bytes: Buffer): string => {
  const file = path.join(cdkOut, name);
  fs.writeFileSync(file, bytes);
  return file;
};
const repoEvent = (props: RepositoryProperties) => createEvent(h, RESOURCE_TYPES.repository, props);
const catalogUpdate = (changes: Partial<CatalogDataProperties>) =>
  updateEvent<CatalogDataProperties>(h, RESOURCE_TYPES.catalogData, `${BASE}/catalog-data`, { ...baseCatalog, ...changes }, baseCatalog);
const policyUpdate = (text: string) =>
  updateEvent<PolicyProperties>(h, RESOURCE_TYPES.policy, `${BASE}/policy`, { RepositoryName: BASE, PolicyText: text }, basePolicy);
const statement = { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'ecr-public:PutImage' };
const v2Props = (overrides: Partial<ImageProperties>): ImageProperties => imageProps(v2.staged, BASE, { Tags: ['stable'], ...overrides });
/**
 * A case publishing v2 over v1 ('stable') in a repository of its own, made in `prepare`: blobs an earlier case left
 * in BASE would be skipped (the registry has them), and never read.
 */
function ownRepository(props: (repositoryName: string) => ImageProperties, cause: () => RegExp): BadInput {
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
const planWith = (change: (plan: any) => void): string => {
  const plan = JSON.parse(JSON.stringify(v2.staged.plan));
  change(plan);
  return JSON.stringify(plan);
};

const CATALOGUE: Array<[string, BadInput]> = [
  // --- Names, lengths, enum-like values, logos, tags and policies, refused at synth by the constructs -------------
  ['synth: repository name of 1 character', {
    at: 'synth', act: () => synthFailure(repo({ repositoryName: 'a' })), cause: /BadStack\/Repo: repositoryName must be 2 to 205 characters \(got 1 characters: "a"\)/,
  }],
  ['synth: repository name of 206 characters', {
    at: 'synth', act: () => synthFailure(repo({ repositoryName: 'x'.repeat(206) })), cause: /repositoryName must be 2 to 205 characters \(got 206 characters/,
  }],
  ['synth: repository name in upper case', {
    at: 'synth', act: () => synthFailure(repo({ repositoryName: 'Acme/Web' })), cause: /repositoryName must be lower-case letters and digits.*\(got "Acme\/Web"\)/,
  }],
  ['synth: repository name with an empty component', {
    at: 'synth', act: () => synthFailure(repo({ repositoryName: 'acme//web' })), cause: /repositoryName must be lower-case.*\(got "acme\/\/web"\)/,
  }],
  ['synth: repository name with a path traversal', {
    at: 'synth', act: () => synthFailure(repo({ repositoryName: '../etc/passwd' })), cause: /repositoryName must be lower-case.*\(got "\.\.\/etc\/passwd"\)/,
  }],
  ['synth: imported repository with an invalid name', {
    at: 'synth', act: () => synthFailure((s) => PublicRepository.fromRepositoryName(s, 'Imported', 'Not Valid')), cause: /BadStack: repositoryName must be lower-case.*\(got "Not Valid"\)/,
  }],
  ['synth: description of 1,025 characters', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', description: 'd'.repeat(1025) })),
    cause: /BadStack\/Repo: description must be at most 1024 characters \(got 1025 characters\)/,
  }],
  ['synth: about text of 25,601 characters', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', aboutText: CatalogText.fromString('a'.repeat(25_601)) })),
    cause: /aboutText must be at most 25600 characters \(got 25601 characters\)/,
  }],
  ['synth: usage text of 25,601 characters', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', usageText: CatalogText.fromString('u'.repeat(25_601)) })),
    cause: /usageText must be at most 25600 characters \(got 25601 characters\)/,
  }],
  ['synth: registry display name of 101 characters', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicRegistry(s, 'Registry', { displayName: 'n'.repeat(101) })),
    cause: /BadStack\/Registry: displayName must be at most 100 characters \(got 101 characters\)/,
  }],
  ['synth: 51 architectures', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', architectures: Array.from({ length: 51 }, (_, i) => Architecture.of(`a${i}`)) })),
    cause: /architectures must have at most 50 items \(got 51 items\)/,
  }],
  ['synth: an empty architecture value passed through Architecture.of', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', architectures: [Architecture.X86_64, Architecture.of('')] })),
    cause: /architectures\[1\] must be 1 to 50 characters \(got ""\)/,
  }],
  ['synth: an operating system of 51 characters passed through OperatingSystem.of', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', operatingSystems: [OperatingSystem.of('o'.repeat(51))] })),
    cause: /operatingSystems\[0\] must be 1 to 50 characters/,
  }],
  ['synth: a GIF logo', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(path.join(FIXTURES, 'not-a-logo.gif')) })),
    cause: /BadStack\/Repo: logo must be a PNG or JPEG image \(checked by its signature\)/,
  }],
  ['synth: an empty logo', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(tmpLogo('empty.png', Buffer.alloc(0))) })),
    cause: /logo must be 1 to 512000 bytes \(got 0 bytes/,
  }],
  ['synth: a logo of 512,001 bytes', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(tmpLogo('big.png', Buffer.concat([PNG, Buffer.alloc(512_001 - PNG.length)]))) })),
    cause: /logo must be 1 to 512000 bytes \(got 512001 bytes/,
  }],
  ['synth: a logo file that does not exist', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(path.join(cdkOut, 'nope.png')) })),
    cause: /logo must be an existing file/,
  }],
  ['synth: a tag key with the reserved aws: prefix', {
    at: 'synth',
    act: () => synthFailure((s) => Tags.of(new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' })).add('aws:owner', 'me')),
    cause: /BadStack\/Repo.*tag key "aws:owner" must not start with 'aws:'/s,
  }],
  ['synth: a tag key of 129 characters', {
    at: 'synth',
    act: () => synthFailure((s) => Tags.of(new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' })).add('k'.repeat(129), 'v')),
    cause: /tag key "k{60}\.\.\." must be 1 to 128 characters/,
  }],
  ['synth: a tag value of 257 characters', {
    at: 'synth',
    act: () => synthFailure((s) => Tags.of(new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' })).add('owner', 'v'.repeat(257))),
    cause: /tag value of "owner" must be at most 256 characters/,
  }],
  ['synth: 51 tags', {
    at: 'synth',
    act: () => synthFailure((s) => {
      const r = new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' });
      for (let i = 0; i < 51; i++) Tags.of(r).add(`k${i}`, 'v');
    }),
    cause: /tags must number at most 50 \(got 51\)/,
  }],
  ['synth: emptyOnDelete on a retained repository', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', emptyOnDelete: true, removalPolicy: RemovalPolicy.RETAIN })),
    cause: /BadStack\/Repo: emptyOnDelete requires removalPolicy: RemovalPolicy.DESTROY/,
  }],
  ['synth: a policy statement without a principal', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' })
      .addToResourcePolicy(new iam.PolicyStatement({ actions: ['ecr-public:PutImage'] }))),
    cause: /\[BadStack\/Repo\] policy: statement 0 must name principals/,
  }],
  ['synth: a policy without statements', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicRepositoryPolicy(s, 'Policy', { repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web') })),
    cause: /\[BadStack\/Policy\] document: must have at least one statement/,
  }],
  ['synth: a policy of more than 10,240 characters', {
    at: 'synth',
    act: () => synthFailure((s) => {
      const r = new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' });
      for (let i = 0; i < 200; i++) {
        r.addToResourcePolicy(new iam.PolicyStatement({
          sid: `S${i}`, actions: ['ecr-public:PutImage'], principals: [new iam.AccountPrincipal(String(100000000000 + i))],
        }));
      }
    }),
    cause: /\[BadStack\/Repo\] policy: must be at most 10240 characters as JSON \(got \d+\)/,
  }],
  ['synth: an image with a duplicate tag', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicImage(s, 'Image', {
      repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web'), source: ImageSource.fromTarball(NEVER_READ), tags: ['v1', 'v1'],
    })),
    cause: /BadStack\/Image: tags must not repeat a tag \(got \["v1","v1"\]\)/,
  }],
  ['synth: an image tag with a space', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicImage(s, 'Image', {
      repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web'), source: ImageSource.fromTarball(NEVER_READ), tags: ['v 1'],
    })),
    cause: /BadStack\/Image: tags\[0\] must match \[a-zA-Z0-9_\]\[a-zA-Z0-9._-\]\{0,127\} \(got "v 1"\)/,
  }],
  ['synth: an image tag of 129 characters', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicImage(s, 'Image', {
      repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web'), source: ImageSource.fromTarball(NEVER_READ), tags: ['t'.repeat(129)],
    })),
    cause: /tags\[0\] must match/,
  }],
  ['synth: an image concurrency of 0', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicImage(s, 'Image', {
      repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web'), source: ImageSource.fromTarball(NEVER_READ), concurrency: 0,
    })),
    cause: /BadStack\/Image: concurrency must be an integer from 1 to 32 \(got 0\)/,
  }],
  ['synth: an image source that is not an archive', {
    at: 'synth',
    prepare: () => writeArchive('notes.txt', Buffer.from('these are notes, not an image\n'.repeat(40))),
    act: () => synthFailure((s) => new PublicImage(s, 'Image', {
      repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web'), source: ImageSource.fromTarball(path.join(archives, 'notes.txt')),
    })),
    cause: () => new RegExp(`BadStack/Image: source .*${re(path.join(archives, 'notes.txt'))}: is not an image archive \\(not a tar file`),
  }],
  ['synth: an image tarball with a path-traversal entry, through PublicImage', {
    at: 'synth',
    prepare: () => writeArchive('construct-traversal.tar', tarBytes(tampered({}, [{ name: '../../outside/planted-by-construct', data: 'x' }]))),
    act: () => synthFailure((s) => new PublicImage(s, 'Image', {
      repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web'), source: ImageSource.fromTarball(path.join(archives, 'construct-traversal.tar')),
    })),
    cause: /BadStack\/Image: source .*construct-traversal\.tar: entry at offset \d+: unsafe entry name with a '\.\.' component "\.\.\/\.\.\/outside\/planted-by-construct"/,
    neverCreated: () => [path.join(outside, 'planted-by-construct')],
  }],

  // --- Invalid values reaching the handlers at deploy (CloudFormation passes them): the API refuses them ----------
  ['deploy: repository name with an underscore at the end', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, repoEvent({ RepositoryName: 'acme_' })),
    cause: /^InvalidParameterException: Invalid parameter at 'repositoryName' failed to satisfy constraint/,
  }],
  ['deploy: repository name of 206 characters', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, repoEvent({ RepositoryName: 'x'.repeat(206) })),
    cause: /^InvalidParameterException: Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must have length less than or equal to 205'/,
  }],
  ['deploy: a repository that already exists (not created by this resource)', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, repoEvent({ RepositoryName: BASE })),
    cause: () => new RegExp(`^RepositoryAlreadyExistsException: .*'${BASE}' already exists and was not created by this resource: import it`),
  }],
  ['deploy: a tag key with the reserved aws: prefix', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, repoEvent({ RepositoryName: uniqueName('rel-bad'), Tags: [{ Key: 'aws:owner', Value: 'me' }] })),
    cause: /^InvalidTagParameterException: Tag key 'aws:owner' uses the reserved prefix 'aws:'/,
  }],
  ['deploy: a tag value of 257 characters', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, repoEvent({ RepositoryName: uniqueName('rel-bad'), Tags: [{ Key: 'owner', Value: 'v'.repeat(257) }] })),
    cause: /^InvalidTagParameterException: Tag value for key 'owner' must be at most 256 characters/,
  }],
  ['deploy: 51 tags', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, repoEvent({ RepositoryName: uniqueName('rel-bad'), Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) })),
    cause: /^TooManyTagsException: A repository can have at most 50 tags; this request would leave 51/,
  }],
  ['deploy: an update of the repository adding a tag key of 129 characters', {
    at: 'deploy',
    act: () => deployFailure(repositoryHandler, updateEvent<RepositoryProperties>(h, RESOURCE_TYPES.repository, BASE,
      { RepositoryName: BASE, Tags: [...baseTags, { Key: 'k'.repeat(129), Value: 'v' }] }, { RepositoryName: BASE, Tags: baseTags })),
    cause: /^InvalidTagParameterException: Tag key at tags\[2\] must be 1 to 128 characters/,
  }],
  ['deploy: catalog description of 1,025 characters', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ Description: 'd'.repeat(1025) })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.description' failed to satisfy constraint: 'must have length less than or equal to 1024'/,
  }],
  ['deploy: catalog about text of 25,601 characters', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ AboutText: 'a'.repeat(25_601) })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.aboutText'/,
  }],
  ['deploy: catalog usage text of 25,601 characters', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ UsageText: 'u'.repeat(25_601) })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.usageText'/,
  }],
  ['deploy: 51 catalog architectures', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ Architectures: Array.from({ length: 51 }, (_, i) => `a${i}`) })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.architectures'/,
  }],
  ['deploy: an empty operating-system value', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ OperatingSystems: ['Linux', ''] })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.operatingSystems\[1\]'/,
  }],
  ['deploy: an architecture value of 51 characters', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ Architectures: ['x'.repeat(51)] })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.architectures\[0\]'/,
  }],
  ['deploy: a GIF logo in the asset bucket', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ LogoKey: 'logo.gif' })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.logoImageBlob' failed to satisfy constraint: 'must be a PNG or JPEG image'/,
  }],
  ['deploy: a logo of more than 512,000 bytes in the asset bucket', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ LogoKey: 'logo-big.png' })),
    cause: /^InvalidParameterException: Invalid parameter at 'catalogData\.logoImageBlob'/,
  }],
  ['deploy: a logo key that names no object', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ LogoKey: 'no-such-logo.png' })),
    cause: /^NoSuchKey: /,
  }],
  ['deploy: a logo bucket without a key', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, catalogUpdate({ LogoKey: undefined })),
    cause: /LogoBucket and LogoKey go together \(got LogoBucket 'assets', LogoKey ''\)/,
  }],
  ['deploy: catalog data of a repository that does not exist', {
    at: 'deploy',
    act: () => deployFailure(catalogHandler, createEvent<CatalogDataProperties>(h, RESOURCE_TYPES.catalogData, { ...baseCatalog, RepositoryName: 'rel/nowhere' })),
    cause: /^RepositoryNotFoundException: .*rel\/nowhere/,
  }],
  ['deploy: a policy that is not JSON', {
    at: 'deploy',
    act: () => deployFailure(policyHandler, policyUpdate('{"Statement": [')),
    cause: /^InvalidParameterException: .*'policyText'.*Invalid repository policy provided: not valid JSON/,
  }],
  ['deploy: a policy without a statement', {
    at: 'deploy',
    act: () => deployFailure(policyHandler, policyUpdate(JSON.stringify({ Version: '2012-10-17', Statement: [] }))),
    cause: /Invalid repository policy provided: no Statement/,
  }],
  ['deploy: a policy statement without a principal', {
    at: 'deploy',
    act: () => deployFailure(policyHandler, policyUpdate(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'ecr-public:PutImage' }] }))),
    cause: /Invalid repository policy provided: Statement\[0\] has no Principal/,
  }],
  ['deploy: a policy Effect that is neither Allow nor Deny', {
    at: 'deploy',
    act: () => deployFailure(policyHandler, policyUpdate(JSON.stringify({ Statement: [{ ...statement, Effect: 'Maybe' }] }))),
    cause: /Invalid repository policy provided: Statement\[0\]\.Effect must be Allow or Deny/,
  }],
  ['deploy: a policy of 10,241 characters', {
    at: 'deploy',
    act: () => {
      const text = JSON.stringify({ Statement: [statement], Padding: '' });
      return deployFailure(policyHandler, policyUpdate(text.replace('"Padding":""', `"Padding":"${'p'.repeat(10_241 - text.length)}"`)));
    },
    cause: /^InvalidParameterException: Invalid parameter at 'policyText' failed to satisfy constraint: 'must have length less than or equal to 10240'/,
  }],
  ['deploy: a registry display name of 101 characters', {
    at: 'deploy',
    act: () => deployFailure(registryHandler, updateEvent<RegistryProperties>(h, RESOURCE_TYPES.registry, h.accountId, { DisplayName: 'n'.repeat(101) }, { DisplayName: 'Baseline' })),
    cause: /^InvalidParameterException: Invalid parameter at 'displayName'/,
  }],

  // --- The image publisher's properties and plan, at deploy ------------------------------------------------------
  ['deploy: an image into a repository that does not exist', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ RepositoryName: 'rel/nowhere' })),
    cause: /^RepositoryNotFoundException: .*The image is published into an existing repository: create 'rel\/nowhere' first\./,
  }],
  ['deploy: an image tag of 301 characters', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ Tags: ['stable', 't'.repeat(301)] })),
    cause: /^ImagePublishError: each tag must be a string of 1 to 300 characters/,
  }],
  ['deploy: an empty image tag', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ Tags: ['stable', ''] })),
    cause: /^ImagePublishError: each tag must be a string of 1 to 300 characters \(got ""\)/,
  }],
  ['deploy: a Concurrency of 0', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ Concurrency: '0' })),
    cause: /^ImagePublishError: Concurrency must be an integer from 1 to 32 \(got "0"\)/,
  }],
  ['deploy: CompressLayers neither true nor false', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ CompressLayers: 'yes' })),
    cause: /^ImagePublishError: CompressLayers must be 'true' or 'false' \(got "yes"\)/,
  }],
  ['deploy: DeleteOnRemove neither true nor false', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ DeleteOnRemove: 'maybe' })),
    cause: /^ImagePublishError: DeleteOnRemove must be 'true' or 'false' \(got "maybe"\)/,
  }],
  ['deploy: a plan that is not JSON', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ Plan: '{"version": 1, "blobs": [' })),
    cause: /^ImagePublishError: Plan is not valid JSON/,
  }],
  ['deploy: a plan whose manifest text does not match its digest', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ Plan: planWith((p) => { p.manifests[0].manifest = p.manifests[0].manifest.replace('"schemaVersion":2', '"schemaVersion":3'); }) })),
    cause: () => new RegExp(`^ImagePublishError: Plan: manifests\\[0\\] is digested ${v2.source.root.digest} but its text hashes to sha256:`),
  }],
  ['deploy: a SourceDigest that is not the plan\'s root', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ SourceDigest: v1.source.root.digest })),
    cause: () => new RegExp(`^ImagePublishError: SourceDigest ${v1.source.root.digest} is not the plan's root digest ${v2.source.root.digest}`),
  }],
  ['deploy: a manifest referring to a blob the plan does not have', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ Plan: planWith((p) => { p.blobs = p.blobs.filter((b: any) => b.digest !== v2Layer().digest); }) })),
    cause: () => new RegExp(`^ImagePublishError: the plan's manifests refer to blob ${v2Layer().digest}, which is not among the plan's blobs`),
  }],
  ['deploy: an archive key that names no object', ownRepository(
    (name) => imageProps(v2.staged, name, { Tags: ['stable'], ArchiveKey: 'no-such-archive.tar' }),
    () => /^NoSuchKey: reading bytes \d+-\d+ of s3:\/\/assets\/no-such-archive\.tar/,
  )],
  ['deploy: a plan blob that lies beyond the end of the archive', ownRepository(
    (name) => imageProps(v2.staged, name, { Tags: ['stable'], Plan: planWith((p) => { p.blobs.find((b: any) => b.digest === v2Layer().digest).offset = 50 * 1024 * 1024; }) }),
    () => new RegExp(`reading bytes ${50 * 1024 * 1024}-\\d+ of s3://${BUCKET}/${re(v2.staged.key)}`),
  )],
  ['deploy: a plan blob offset pointing at other bytes of the archive', ownRepository(
    (name) => imageProps(v2.staged, name, { Tags: ['stable'], Plan: planWith((p) => { p.blobs.find((b: any) => b.digest === v2Layer().digest).offset = 0; }) }),
    () => new RegExp(`^ImagePublishError: blob ${v2Layer().digest} in ${re(v2.staged.key)} does not match its digest \\(got sha256:[0-9a-f]{64}\\)`),
  )],
  ['deploy: a layer whose bytes in the staged archive do not match its digest (no tag moves)', ownRepository(
    (name) => corruptCopy('corrupt-layer.tar', name, (bytes) => flip(bytes, v2Layer().offset + 100)),
    () => new RegExp(`^ImagePublishError: blob ${v2Layer().digest} in corrupt-layer\\.tar does not match its digest \\(got sha256:[0-9a-f]{64}\\)`),
  )],
  ['deploy: a config whose bytes in the staged archive do not match its digest', ownRepository(
    (name) => corruptCopy('corrupt-config.tar', name, (bytes) => flip(bytes, v2Config().offset + 2)),
    () => new RegExp(`^ImagePublishError: blob ${v2Config().digest} in corrupt-config\\.tar does not match its digest`),
  )],
  ['deploy: a manifest of an unknown media type', ownRepository(
    (name) => {
      const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example.thing+json', config: v2Config(), layers: [] });
      const digest = sha256(manifest);
      return imageProps(v2.staged, name, {
        Tags: ['stable'],
        Plan: planWith((p) => { p.manifests = [{ digest, mediaType: 'application/vnd.example.thing+json', manifest }]; p.rootDigest = digest; }),
        SourceDigest: digest,
      });
    },
    () => /^InvalidParameterException: PutImage of manifest sha256:[0-9a-f]{64} with tag 'stable': Invalid parameter at 'imageManifestMediaType' .*\(got 'application\/vnd\.example\.thing\+json'\)/,
  )],

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

describe('a catalogue of bad inputs: each is refused with its cause and changes nothing', () => {
  test(`the catalogue has at least 40 entries (it has ${CATALOGUE.length})`, () => {
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CATALOGUE.map(([name]) => name)).size).toBe(CATALOGUE.length);
  });

  test('the watched file records reads (so the "never read" checks below can fail)', () => {
    secret.arm();
    expect(secret.wasRead()).toBe(false);
    fs.readFileSync(secret.file);
    expect(secret.wasRead()).toBe(true);
    secret.arm();
  });

  test.each(CATALOGUE)('%s', async (_name, c) => {
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
  });
});
