/**
 * A data directory of the previous layout (`state.json`, long texts in `texts/`) is migrated at the first start: the
 * fixture `test/fixtures/legacy-store` was written by the emulator of the previous release (commit 7974c57), through
 * the SDK: a repository with catalog data (a long about text, a logo), a policy, tags and an image; a repository named
 * `constructor` whose image was deleted (its manifest file left behind, as that release left them); and an upload with
 * one part.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CompleteLayerUploadCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetRegistryCatalogDataCommand,
  GetRepositoryCatalogDataCommand,
  GetRepositoryPolicyCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr-public';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';
import { Harness, PNG_1X1, sha256, start, stop } from '../conformance/support';

const FIXTURE = path.join(__dirname, '..', '..', 'fixtures', 'legacy-store');
const IDS: { kept: string; deleted: string; uploadId: string } = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'legacy-store.ids.json'), 'utf8'));
/** The about text the fixture was written with. */
const ABOUT = `# About\n${'é'.repeat(5000)}`;
/** The fixture's upload was touched when it was written: it must not expire while the test runs, whenever that is. */
const NEVER = { uploadExpirySeconds: 100 * 365 * 86400 };

describe('a data directory of the previous layout', () => {
  let dir: string;
  let h: Harness | undefined;

  beforeAll(() => {
    dir = makeTempDir('store-migration-');
    fs.cpSync(FIXTURE, dir, { recursive: true });
  });

  afterAll(async () => {
    await stop(h);
    removeTempDir(dir);
  });

  test('is migrated at the first start: everything it held is served, and its old files are gone', async () => {
    h = await start({ dataDir: dir, limits: NEVER });
    const c = h.client;
    const repos = await c.send(new DescribeRepositoriesCommand({}));
    expect(repos.repositories?.map((r) => r.repositoryName).sort()).toEqual(['constructor', 'legacy/app']);
    expect(repos.repositories?.[0]?.repositoryUri).toContain('/legacyalias/');
    expect((await c.send(new GetRegistryCatalogDataCommand({}))).registryCatalogData?.displayName).toBe('Legacy Registry');

    const catalog = (await c.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'legacy/app' }))).catalogData!;
    expect(catalog).toMatchObject({ description: 'from the previous layout', aboutText: ABOUT, usageText: 'docker pull it', architectures: ['x86-64'] });
    const logo = await fetch(h.emu.endpoint + new URL(catalog.logoUrl!).pathname);
    expect(Buffer.from(await logo.arrayBuffer()).equals(PNG_1X1)).toBe(true);
    expect((await c.send(new GetRepositoryPolicyCommand({ repositoryName: 'legacy/app' }))).policyText).toContain('ecr-public:DescribeImages');

    const images = await c.send(new DescribeImagesCommand({ repositoryName: 'legacy/app' }));
    expect(images.imageDetails?.map((i) => [i.imageDigest, i.imageTags])).toEqual([[IDS.kept, ['v1']]]);
    const manifest = await fetch(`${h.emu.endpoint}/v2/legacyalias/legacy/app/manifests/v1`);
    expect(sha256(Buffer.from(await manifest.arrayBuffer()))).toBe(IDS.kept);

    // The upload in progress continues where it stopped: at byte 10, and completes with the bytes it had.
    const wrong = await c.send(new UploadLayerPartCommand({
      repositoryName: 'legacy/app', uploadId: IDS.uploadId, partFirstByte: 0, partLastByte: 0, layerPartBlob: Buffer.from('x'),
    })).catch((e) => e);
    expect(wrong).toMatchObject({ name: 'InvalidLayerPartException', lastValidByteReceived: 9 });
    const done = await c.send(new CompleteLayerUploadCommand({ repositoryName: 'legacy/app', uploadId: IDS.uploadId, layerDigests: [sha256(Buffer.from('0123456789'))] }));
    expect(done.layerDigest).toBe(sha256(Buffer.from('0123456789')));

    // The old layout's files are gone, and so is the manifest of the image deleted under it.
    expect(fs.existsSync(path.join(dir, 'state.json'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'texts'))).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'meta', 'format'), 'utf8').trim()).toBe('2');
    expect(fs.readdirSync(path.join(dir, 'manifests', 'sha256'))).toEqual([IDS.kept.slice('sha256:'.length)]);
  });

  test('and read as migrated at the next start', async () => {
    await stop(h);
    h = await start({ dataDir: dir, limits: NEVER });
    const repos = await h.client.send(new DescribeRepositoriesCommand({}));
    expect(repos.repositories?.map((r) => r.repositoryName).sort()).toEqual(['constructor', 'legacy/app']);
    const catalog = (await h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'legacy/app' }))).catalogData!;
    expect(catalog.aboutText).toBe(ABOUT);
  });
});
