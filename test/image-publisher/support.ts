/** Shared pieces of the image-publisher tests: staging an image into the emulator's asset bucket, props, spies. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CreateRepositoryCommand, DescribeImagesCommand, ECRPUBLICClient, ImageDetail } from '@aws-sdk/client-ecr-public';
import { S3Client } from '@aws-sdk/client-s3';
import { inspectImageArchive } from '../../src/private/archive/inspect';
import { sha256 } from '../../src/shared/oci/digest';
import { OCI_CONFIG, OCI_MANIFEST } from '../../src/shared/oci/media-types';
import { ImageProperties, PublishPlan } from '../../src/shared/publish-plan';
import { HandlerHarness } from '../support/handler-harness';
import { LayoutDescriptor, OciIndexJson, OciLayoutImage, OciManifestJson, writeBlob } from '../support/oci-layout';
import { makeTempDir } from '../support/temp-dirs';

const REF_NAME = 'org.opencontainers.image.ref.name';

export const TYPE = 'Custom::EcrPublicImage';
export const BUCKET = 'assets';

/** A directory served as the bucket `assets`; call in `beforeAll` after the harness started. */
export function useAssetBucket(h: HandlerHarness): { dir: string } {
  const bucket = { dir: '' };
  beforeAll(() => {
    bucket.dir = makeTempDir('image-publisher-assets-');
    h.emu.addBucket(BUCKET, bucket.dir);
  });
  return bucket;
}

export interface Staged {
  readonly key: string;
  readonly archivePath: string;
  readonly plan: PublishPlan;
}

/** Stages the image `ref` of the OCI layout `layoutDir` into the bucket directory. */
export async function stage(bucketDir: string, layoutDir: string, ref?: string): Promise<Staged> {
  const staged = inspectImageArchive(layoutDir, { ref, stagingDir: bucketDir });
  return { key: path.relative(bucketDir, staged.archivePath), archivePath: staged.archivePath, plan: staged.plan };
}

/** The properties for publishing `staged` into `repositoryName`. */
export function imageProps(staged: Staged, repositoryName: string, overrides: Partial<ImageProperties> = {}): ImageProperties {
  return {
    RepositoryName: repositoryName,
    ArchiveBucket: BUCKET,
    ArchiveKey: staged.key,
    Plan: JSON.stringify(staged.plan),
    SourceDigest: staged.plan.rootDigest,
    Tags: ['latest'],
    CompressLayers: 'false',
    Concurrency: '4',
    DeleteOnRemove: 'false',
    ...overrides,
  };
}

export async function createRepository(client: ECRPUBLICClient, name: string): Promise<void> {
  await client.send(new CreateRepositoryCommand({ repositoryName: name }));
}

/** The image `ref` (tag or digest) of the repository, or undefined. */
export async function findImage(client: ECRPUBLICClient, repositoryName: string, ref: string): Promise<ImageDetail | undefined> {
  const imageId = ref.startsWith('sha256:') ? { imageDigest: ref } : { imageTag: ref };
  try {
    const out = await client.send(new DescribeImagesCommand({ repositoryName, imageIds: [imageId] }));
    return out.imageDetails?.[0];
  } catch (err) {
    if ((err as Error).name === 'ImageNotFoundException') return undefined;
    throw err;
  }
}

/** One ECR Public command sent by the handler (not by the test's own client), with what became of it. */
export interface SentCommand {
  readonly name: string;
  readonly input: any;
  /** Attempts the SDK made (from the response's or the error's `$metadata`). */
  attempts?: number;
  error?: string;
}

/**
 * Records every command the handler's ECR Public clients send (`send` of the client class, so retries inside the SDK
 * are one call with several attempts) and every S3 GetObject Range. Restored by `restore()` or the harness's `restoreAllMocks`.
 */
export function spyOnClients(h: HandlerHarness): { ecr: SentCommand[]; s3Ranges: string[]; restore: () => void } {
  const sent = { ecr: [] as SentCommand[], s3Ranges: [] as string[], restore: () => {} };
  const ecrSend = ECRPUBLICClient.prototype.send;
  const ecrSpy = jest.spyOn(ECRPUBLICClient.prototype, 'send').mockImplementation(async function (this: ECRPUBLICClient, command: any, ...rest: any[]) {
    if (this === h.client) return (ecrSend as any).call(this, command, ...rest);
    const record: SentCommand = { name: command.constructor.name.replace(/Command$/, ''), input: command.input };
    sent.ecr.push(record);
    try {
      const out = await (ecrSend as any).call(this, command, ...rest);
      record.attempts = out?.$metadata?.attempts;
      return out;
    } catch (err) {
      record.attempts = (err as any)?.$metadata?.attempts;
      record.error = (err as Error).name;
      throw err;
    }
  } as any);
  const s3Send = S3Client.prototype.send;
  const s3Spy = jest.spyOn(S3Client.prototype, 'send').mockImplementation(function (this: S3Client, command: any, ...rest: any[]) {
    if (command.input?.Range) sent.s3Ranges.push(command.input.Range);
    return (s3Send as any).call(this, command, ...rest);
  } as any);
  sent.restore = () => {
    ecrSpy.mockRestore();
    s3Spy.mockRestore();
  };
  return sent;
}

/** How many of `sent` are `name`. */
export function count(sent: readonly SentCommand[], name: string): number {
  return sent.filter((c) => c.name === name).length;
}

/** The handler's summary lines (the last publish's last). */
export function summaries(h: HandlerHarness): Array<Record<string, any>> {
  return h.logs
    .filter((l) => l.startsWith('{"summary"'))
    .map((l) => JSON.parse(l).summary as Record<string, any>);
}

/**
 * Writes an OCI image manifest (with its own `mediaType` member) over `config` and `layers` (whose blobs must be in the
 * layout already) and tags it `tag` in `index.json`. Returns the manifest's digest.
 */
export function writeImage(layoutDir: string, tag: string, config: object, layers: LayoutDescriptor[]): string {
  const configBlob = writeBlob(layoutDir, Buffer.from(JSON.stringify(config)));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, ...configBlob },
    layers,
  }));
  const blob = writeBlob(layoutDir, manifest);
  const indexFile = path.join(layoutDir, 'index.json');
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as OciIndexJson;
  const kept = index.manifests.filter((d) => d.annotations?.[REF_NAME] !== tag);
  const entry: LayoutDescriptor = { mediaType: OCI_MANIFEST, ...blob, annotations: { [REF_NAME]: tag } };
  fs.writeFileSync(indexFile, JSON.stringify({ ...index, manifests: [...kept, entry] }));
  return blob.digest;
}

/** Writes `bytes` as a layer blob of the layout and returns its descriptor. */
export function writeLayer(layoutDir: string, bytes: Buffer, mediaType: string): LayoutDescriptor {
  return { mediaType, ...writeBlob(layoutDir, bytes) };
}

/** The parsed config of an image of a layout. */
export function readConfig(image: OciLayoutImage): any {
  const config = (image.root.json as OciManifestJson).config;
  return JSON.parse(fs.readFileSync(image.blobs.find((b) => b.digest === config.digest)!.path, 'utf8'));
}

/** `sha256:` of the gunzipped bytes of a gzip blob file. */
export function diffId(file: string): string {
  return sha256(gunzipSync(fs.readFileSync(file)));
}
