/**
 * The sweeper handler against the emulator, through the real SDK: repositories of 0, 1 and 1,500 images (two pages of
 * DescribeImages, fifteen batches of BatchDeleteImage), an image index with its platform images and an attestation
 * manifest built with umoci, protected tags, dry runs, the deadline, throttling, and the deploy-time custom resource.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CreateRepositoryCommand, DescribeImagesCommand, ImageDetail, PutImageCommand } from '@aws-sdk/client-ecr-public';
import { handler } from '../../lambda/lifecycle-sweeper';
import { RESOURCE_TYPES } from '../../src/shared/handler-contract';
import {
  LifecycleSweepProperties, RepositoryLifecycle, RuleSpec, SCHEDULED_SWEEP, ScheduledSweepEvent, ScheduledSweepResult, SweeperConfig,
} from '../../src/shared/lifecycle-contract';
import { OCI_MANIFEST } from '../../src/shared/oci/media-types';
import { uniqueName } from '../support/ecr-fixtures';
import { pushOciLayout } from '../support/ecr-push';
import { basicAuthorization, loginPassword, primaryRegistryAlias } from '../support/emulator-harness';
import { createEvent, deleteEvent, invokeOk, updateEvent, useHandlerHarness } from '../support/handler-harness';
import { readOciLayout } from '../support/oci-layout';
import { attachToLayout, RegistryWriter } from '../support/oci-referrers';
import { skopeoInspectRaw } from '../support/skopeo';
import { makeTempDir } from '../support/temp-dirs';
import { addAttestationManifest, buildImage, buildMultiPlatformLayout } from '../support/umoci-images';

const h = useHandlerHarness();
const BUCKET = 'sweeper-assets';
const DAY = 24 * 60 * 60 * 1000;
let assetDir: string;
let configCount = 0;
/** A real single-platform image (umoci), pushed into each repository that needs one, and varied by annotation. */
let baseLayout: string;

beforeAll(async () => {
  assetDir = makeTempDir('sweeper-assets-');
  h.emu.addBucket(BUCKET, assetDir);
  baseLayout = path.join(makeTempDir('sweeper-layout-'), 'layout');
  await buildImage(baseLayout, { tag: 'base', files: { 'hello.txt': 'hello from a swept image\n' } });
});

/** Writes a configuration asset and returns its location. */
function config(repositories: Array<Partial<RepositoryLifecycle> & { repositoryName: string; rules: RuleSpec[] }>): LifecycleSweepProperties {
  const content: SweeperConfig = {
    version: 1,
    repositories: repositories.map((r) => ({ mode: 'expire', schedule: 'rate(1 day)', protectedTags: [], ...r })),
  };
  const key = `config-${++configCount}.json`;
  fs.writeFileSync(path.join(assetDir, key), JSON.stringify(content));
  return { ConfigBucket: BUCKET, ConfigKey: key };
}

function scheduled(location: LifecycleSweepProperties, extra: Partial<ScheduledSweepEvent> = {}): ScheduledSweepEvent {
  return { kind: SCHEDULED_SWEEP, schedule: 'rate(1 day)', ...location, ...extra };
}

async function run(event: ScheduledSweepEvent, remainingMs = 15 * 60 * 1000): Promise<ScheduledSweepResult> {
  return (await handler(event, { getRemainingTimeInMillis: () => remainingMs })) as ScheduledSweepResult;
}

async function newRepository(): Promise<string> {
  const name = uniqueName('sweep');
  await h.client.send(new CreateRepositoryCommand({ repositoryName: name }));
  return name;
}

/** Pushes the base image; returns the manifest to vary. */
async function pushBase(name: string, tag = 'base'): Promise<{ digest: string; manifest: any }> {
  const digest = await pushOciLayout(h.client, name, baseLayout, { tag, layoutTag: 'base' });
  return { digest, manifest: readOciLayout(baseLayout, 'base').root.json };
}

/** Puts a variant of `manifest` (a distinct digest: an annotation), tagged or not; returns its digest. */
async function putVariant(name: string, manifest: any, n: number, tag?: string): Promise<string> {
  const text = JSON.stringify({ ...manifest, annotations: { 'org.example.variant': String(n) } });
  const out = await h.client.send(new PutImageCommand({
    repositoryName: name, imageManifest: text, imageManifestMediaType: OCI_MANIFEST, imageTag: tag,
  }));
  return out.image!.imageId!.imageDigest!;
}

async function images(name: string): Promise<ImageDetail[]> {
  const all: ImageDetail[] = [];
  let nextToken: string | undefined;
  do {
    const out = await h.client.send(new DescribeImagesCommand({ repositoryName: name, nextToken, maxResults: 1000 }));
    all.push(...(out.imageDetails ?? []));
    nextToken = out.nextToken;
  } while (nextToken);
  return all;
}

const anyKeep = (n: number, priority = 1): RuleSpec => ({ rulePriority: priority, tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: n });
const untaggedKeep = (n: number, priority = 1): RuleSpec => ({ rulePriority: priority, tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: n });
const untaggedOlderThan = (days: number, priority = 1): RuleSpec => ({ rulePriority: priority, tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: days });

describe('scheduled sweeps', () => {
  test('a repository of 0 images: seen 0, expired 0, complete', async () => {
    const name = await newRepository();
    const result = await run(scheduled(config([{ repositoryName: name, rules: [anyKeep(1)] }])));
    expect(result.repositories).toEqual([expect.objectContaining({ repository: name, imagesSeen: 0, expired: 0, kept: 0, complete: true })]);
    // One JSON summary line per repository.
    const lines = h.logs.filter((l) => l.includes('"lifecycleSweep"') && l.includes(name));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).lifecycleSweep).toMatchObject({ repository: name, imagesSeen: 0 });
  });

  test('a repository of 1 image: kept by a count rule; expired by an age rule once it is old enough', async () => {
    const name = await newRepository();
    const { digest } = await pushBase(name);
    const pushedAt = (await images(name))[0].imagePushedAt!.getTime();
    const location = config([{ repositoryName: name, rules: [{ rulePriority: 1, tagStatus: 'any', countType: 'sinceImagePushed', countNumber: 3 }] }]);
    expect((await run(scheduled(location, { time: new Date(pushedAt + 3 * DAY).toISOString() }))).repositories[0].expired).toBe(0);
    expect((await images(name)).map((i) => i.imageDigest)).toEqual([digest]);
    const later = await run(scheduled(location, { time: new Date(pushedAt + 3 * DAY + 1000).toISOString() }));
    expect(later.repositories[0]).toMatchObject({ imagesSeen: 1, expired: 1, kept: 0, byRule: { 1: 1 } });
    expect(await images(name)).toEqual([]);
  });

  test('a repository of 1,500 images: every page is read, 1,399 untagged images go in batches of 100, the newest 100 untagged and the tagged one stay', async () => {
    const name = await newRepository();
    const { manifest, digest: tagged } = await pushBase(name, 'latest');
    const pushed: string[] = [];
    for (let i = 0; i < 1499; i++) pushed.push(await putVariant(name, manifest, i));
    expect(await images(name)).toHaveLength(1500);
    const result = await run(scheduled(config([{ repositoryName: name, rules: [untaggedKeep(100)] }])));
    expect(result.repositories[0]).toMatchObject({ imagesSeen: 1500, expired: 1399, kept: 101, complete: true, byRule: { 1: 1399 } });
    const left = new Set((await images(name)).map((i) => i.imageDigest));
    expect(left).toEqual(new Set([tagged, ...pushed.slice(-100)]));
  });

  test('an index with its platform images and an attestation manifest: the children go only with their index', async () => {
    const name = await newRepository();
    const layout = path.join(makeTempDir('sweeper-index-'), 'layout');
    await buildMultiPlatformLayout(layout, { tag: 'v1', files: { 'app.txt': 'version 1\n' } });
    const first = addAttestationManifest(layout, 'v1');
    const firstDigest = await pushOciLayout(h.client, name, layout, { tag: 'v1' });
    expect(first.manifests).toHaveLength(4);
    const after = (days: number) => new Date(Date.now() + days * DAY).toISOString();
    const location = config([{ repositoryName: name, rules: [untaggedOlderThan(1)] }]);

    // The three children are untagged and old enough, but the index references them: kept and reported.
    const kept = await run(scheduled(location, { time: after(2) }));
    expect(kept.repositories[0]).toMatchObject({ imagesSeen: 4, expired: 0, complete: true });
    expect(new Set(kept.repositories[0].keptReferenced)).toEqual(new Set(first.manifests.filter((m) => m !== first.root).map((m) => m.digest)));
    expect(await images(name)).toHaveLength(4);

    // v1 moves to a new index: the old one is untagged, and goes with its children; the new one's children stay.
    await buildMultiPlatformLayout(layout, { tag: 'v1', files: { 'app.txt': 'version 2\n' } });
    const second = addAttestationManifest(layout, 'v1');
    const secondDigest = await pushOciLayout(h.client, name, layout, { tag: 'v1' });
    expect(secondDigest).not.toBe(firstDigest);
    const swept = await run(scheduled(location, { time: after(2) }));
    const childrenOfFirst = first.manifests.filter((m) => m !== first.root).map((m) => m.digest);
    // The attestation manifest has the same content in both indexes: the new index still references it.
    const shared = childrenOfFirst.filter((d) => second.manifests.some((m) => m.digest === d));
    expect(shared).toHaveLength(1);
    expect(swept.repositories[0].expired).toBe(1 + childrenOfFirst.length - shared.length);
    expect(swept.repositories[0].keptReferenced).toEqual(expect.arrayContaining(shared));
    const left = new Set((await images(name)).map((i) => i.imageDigest));
    expect(left).toEqual(new Set(second.manifests.map((m) => m.digest)));
    for (const d of [firstDigest, ...childrenOfFirst.filter((c) => !shared.includes(c))]) expect(left.has(d)).toBe(false);

    // What stays pulls back whole: skopeo reads the tagged index byte for byte.
    const alias = await primaryRegistryAlias(h.client);
    const raw = await skopeoInspectRaw(`docker://${h.emu.host}/${alias}/${name}:v1`);
    expect(raw.equals(second.root.bytes)).toBe(true);
  });

  test('referrers are no images of their own: no rule selects them; they expire with their subject, a referrer of a referrer too', async () => {
    const name = await newRepository();
    const { digest: kept, manifest } = await pushBase(name, 'v1');
    const expiring = await putVariant(name, manifest, 1);
    const alias = await primaryRegistryAlias(h.client);
    const writer = new RegistryWriter(`${h.emu.endpoint}/v2/${alias}/${name}`, { authorization: basicAuthorization('AWS', await loginPassword(h.client)) });
    const layout = path.join(makeTempDir('sweeper-referrers-'), 'layout');
    fs.cpSync(baseLayout, layout, { recursive: true });
    const subject = (digest: string) => ({ digest, mediaType: OCI_MANIFEST, size: 0 });
    const attach = async (to: { digest: string; mediaType: string; size: number }, content: string) => {
      const artifact = attachToLayout(layout, to, { artifactType: 'application/spdx+json', content });
      await writer.artifact(layout, artifact);
      return artifact;
    };
    const keptSbom = await attach(subject(kept), 'sbom of v1');
    const sbom = await attach(subject(expiring), 'sbom of the untagged image');
    const signature = await attach(sbom, 'signature of that sbom');
    const location = config([{ repositoryName: name, rules: [untaggedOlderThan(1)] }]);
    const time = new Date(Date.now() + 2 * DAY).toISOString();

    const dry = await run(scheduled(location, { time, dryRun: true }));
    expect(dry.repositories[0]).toMatchObject({ imagesSeen: 5, expired: 3 });
    expect(dry.repositories[0].wouldExpire).toEqual([
      `${signature.digest} [] rule 1 (referrer of ${sbom.digest})`, `${sbom.digest} [] rule 1 (referrer of ${expiring})`, `${expiring} [] rule 1`,
    ]);

    const swept = await run(scheduled(location, { time }));
    expect(swept.repositories[0]).toMatchObject({ imagesSeen: 5, expired: 3, kept: 2, byRule: { 1: 3 }, complete: true, failures: [] });
    expect(new Set((await images(name)).map((i) => i.imageDigest))).toEqual(new Set([kept, keptSbom.digest]));
  });

  test('tags a PublicImage publishes are protected: the image carrying them is kept and reported', async () => {
    const name = await newRepository();
    const { manifest, digest: stable } = await pushBase(name, 'stable');
    const newer = [await putVariant(name, manifest, 1, 'v1'), await putVariant(name, manifest, 2, 'v2')];
    const result = await run(scheduled(config([{ repositoryName: name, rules: [anyKeep(1)], protectedTags: ['stable'] }])));
    expect(result.repositories[0]).toMatchObject({ expired: 1, keptProtected: [stable] });
    expect(new Set((await images(name)).map((i) => i.imageDigest))).toEqual(new Set([stable, newer[1]]));
  });

  test('dry run (the repository\'s mode, or the event\'s): what would expire is reported, nothing is deleted', async () => {
    const name = await newRepository();
    const { manifest } = await pushBase(name, 'v0');
    for (let i = 0; i < 5; i++) await putVariant(name, manifest, i, `v${i + 1}`);
    const byMode = await run(scheduled(config([{ repositoryName: name, rules: [anyKeep(2)], mode: 'dry-run' }])));
    expect(byMode.repositories[0]).toMatchObject({ dryRun: true, expired: 4, kept: 2 });
    expect(byMode.repositories[0].wouldExpire).toHaveLength(4);
    expect(byMode.repositories[0].wouldExpire![0]).toMatch(/^sha256:[0-9a-f]{64} \[v0\] rule 1$/);
    const byEvent = await run(scheduled(config([{ repositoryName: name, rules: [anyKeep(2)] }]), { dryRun: true }));
    expect(byEvent.repositories[0]).toMatchObject({ dryRun: true, expired: 4 });
    expect(await images(name)).toHaveLength(6);
  });

  test('only the repositories on the schedule that fired are swept', async () => {
    const daily = await newRepository();
    const hourly = await newRepository();
    for (const name of [daily, hourly]) {
      const { manifest } = await pushBase(name, 'a');
      await putVariant(name, manifest, 1, 'b');
    }
    const location = config([
      { repositoryName: daily, rules: [anyKeep(1)] },
      { repositoryName: hourly, rules: [anyKeep(1)], schedule: 'rate(1 hour)' },
    ]);
    const result = await run(scheduled(location, { schedule: 'rate(1 hour)' }));
    expect(result.repositories.map((r) => r.repository)).toEqual([hourly]);
    expect(await images(hourly)).toHaveLength(1);
    expect(await images(daily)).toHaveLength(2);
  });

  test('a run that reaches its deadline stops cleanly, deletes nothing it has not decided on, and says who is left', async () => {
    const first = await newRepository();
    const second = await newRepository();
    for (const name of [first, second]) {
      const { manifest } = await pushBase(name, 'a');
      await putVariant(name, manifest, 1, 'b');
    }
    const location = config([{ repositoryName: first, rules: [anyKeep(1)] }, { repositoryName: second, rules: [anyKeep(1)] }]);
    // No time left at all: nothing starts.
    const stopped = await run(scheduled(location), 0);
    expect(stopped.repositories).toEqual([]);
    expect(stopped.notReached).toEqual([first, second]);
    expect(await images(first)).toHaveLength(2);
    // The next run, with time, continues.
    const next = await run(scheduled(location));
    expect(next.notReached).toEqual([]);
    expect(next.repositories.map((r) => r.expired)).toEqual([1, 1]);
  });

  test('throttling is retried: the sweep completes', async () => {
    const name = await newRepository();
    const { manifest } = await pushBase(name, 'a');
    for (let i = 0; i < 30; i++) await putVariant(name, manifest, i);
    h.emu.setFaults({ throttleRate: 0.3, seed: 7 });
    try {
      const result = await run(scheduled(config([{ repositoryName: name, rules: [untaggedKeep(5)] }])));
      expect(result.repositories[0]).toMatchObject({ expired: 25, complete: true });
    } finally {
      h.emu.setFaults({});
    }
    expect(await images(name)).toHaveLength(6);
  });

  test('a repository that is gone fails the run, after the others were swept', async () => {
    const present = await newRepository();
    const { manifest } = await pushBase(present, 'a');
    await putVariant(present, manifest, 1, 'b');
    const location = config([{ repositoryName: 'sweep-missing-repository', rules: [anyKeep(1)] }, { repositoryName: present, rules: [anyKeep(1)] }]);
    await expect(run(scheduled(location))).rejects.toThrow(/sweep-missing-repository: RepositoryNotFoundException/);
    expect(await images(present)).toHaveLength(1);
  });
});

describe('Custom::EcrPublicLifecycleSweep (at deploy)', () => {
  const TYPE = RESOURCE_TYPES.lifecycleSweep;

  test('Create sweeps every repository; Update (and a rollback\'s Update back) only those whose lifecycle changed; Delete does nothing', async () => {
    const a = await newRepository();
    const b = await newRepository();
    for (const name of [a, b]) {
      const { manifest } = await pushBase(name, 't0');
      for (let i = 1; i <= 4; i++) await putVariant(name, manifest, i, `t${i}`);
    }
    const v1 = config([{ repositoryName: a, rules: [anyKeep(4)] }, { repositoryName: b, rules: [anyKeep(4)] }]);
    const created = await invokeOk(h, handler as any, createEvent<LifecycleSweepProperties>(h, TYPE, v1));
    expect(created.Data).toEqual({ ExpiredImages: '2', WouldExpireImages: '0', SweptRepositories: '2', Complete: 'true' });

    // a's rule tightens; b's stays: only a is swept (b would lose images under its rule if it were swept: it is not,
    // because its lifecycle did not change).
    for (let i = 5; i <= 6; i++) await putVariant(b, (await pushBaseManifest()), i, `t${i}`);
    const v2 = config([{ repositoryName: a, rules: [anyKeep(2)] }, { repositoryName: b, rules: [anyKeep(4)] }]);
    const updated = await invokeOk(h, handler as any, updateEvent<LifecycleSweepProperties>(h, TYPE, created.PhysicalResourceId, v2, v1));
    expect(updated.Data).toMatchObject({ ExpiredImages: '2', SweptRepositories: '1' });
    expect(await images(a)).toHaveLength(2);
    expect(await images(b)).toHaveLength(6);

    // A rollback's Update back (the previous configuration, OldResourceProperties the one rolled back): only a, whose
    // lifecycle changes back, is swept, under its looser rule: nothing more expires, and b is left alone.
    const back = await invokeOk(h, handler as any, updateEvent<LifecycleSweepProperties>(h, TYPE, created.PhysicalResourceId, v1, v2));
    expect(back.PhysicalResourceId).toBe(created.PhysicalResourceId);
    expect(back.Data).toMatchObject({ ExpiredImages: '0', SweptRepositories: '1' });
    expect(await images(a)).toHaveLength(2);
    expect(await images(b)).toHaveLength(6);

    const deleted = await invokeOk(h, handler as any, deleteEvent<LifecycleSweepProperties>(h, TYPE, created.PhysicalResourceId, v2));
    expect(deleted.Status).toBe('SUCCESS');
    expect(await images(a)).toHaveLength(2);
  });

  test('a dry-run repository\'s count is reported apart; a failing sweep answers FAILED with the real error', async () => {
    const name = await newRepository();
    const { manifest } = await pushBase(name, 't0');
    await putVariant(name, manifest, 1, 't1');
    const dry = await invokeOk(h, handler as any, createEvent<LifecycleSweepProperties>(h, TYPE, config([{ repositoryName: name, rules: [anyKeep(1)], mode: 'dry-run' }])));
    expect(dry.Data).toMatchObject({ ExpiredImages: '0', WouldExpireImages: '1' });
    expect(await images(name)).toHaveLength(2);

    const event = createEvent<LifecycleSweepProperties>(h, TYPE, config([{ repositoryName: 'sweep-not-there', rules: [anyKeep(1)] }]));
    await (handler as any)(event);
    const response = h.responses.get(event.RequestId)![0].body;
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/sweep-not-there: RepositoryNotFoundException/);
  });
});

/** The base image's manifest (for variants in a repository that already has the base's blobs). */
async function pushBaseManifest(): Promise<any> {
  return readOciLayout(baseLayout, 'base').root.json;
}
