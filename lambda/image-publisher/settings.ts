/** The properties of `Custom::EcrPublicImage`, checked and converted (CloudFormation passes every scalar as a string). */
import { ImagePublishError } from './errors';
import { ImageReference, parseImageReference, parsePlatform, PlatformSpec } from '../../src/shared/image-reference';
import { MEDIA_TYPE_PATTERN } from '../../src/shared/oci/artifact';
import { isSha256Digest, sha256 } from '../../src/shared/oci/digest';
import {
  ArtifactsPlan, ImageProperties, MAX_ARTIFACT_BYTES, PlanArtifact, PlanBlob, PlanManifest, PublishPlan, SourceAuth,
} from '../../src/shared/publish-plan';

/** Blobs uploaded at once when `Concurrency` is not given. */
export const DEFAULT_CONCURRENCY = 4;
const MAX_CONCURRENCY = 32;
const MAX_TAG_LENGTH = 300;
const SOURCE_AUTHS: readonly SourceAuth[] = ['anonymous', 'ecr', 'secret'];

/** An image archive staged in S3, with the plan made at synth. */
export interface ArchiveSettings {
  readonly kind: 'archive';
  readonly bucket: string;
  readonly key: string;
  readonly plan: PublishPlan;
}

/** An image in a registry, copied through the pull API. */
export interface RegistrySettings {
  readonly kind: 'registry';
  readonly reference: ImageReference;
  readonly auth: SourceAuth;
  readonly secretArn?: string;
  readonly ecrRegion?: string;
  readonly platform?: PlatformSpec;
  /** Whether the referrers the source registry lists for the image are copied with it. */
  readonly includeReferrers: boolean;
}

export type SourceSettings = ArchiveSettings | RegistrySettings;

export interface ImageSettings {
  readonly repositoryName: string;
  readonly source: SourceSettings;
  /** Without duplicates, in the given order (the first one goes with the root's PutImage). */
  readonly tags: readonly string[];
  /** Archive sources only: a registry image is copied byte for byte. */
  readonly compressLayers: boolean;
  readonly concurrency: number;
  readonly deleteOnRemove: boolean;
  /** Files attached to the image (`ImageArtifact`), staged in S3. @default - none */
  readonly artifacts?: StagedArtifacts;
}

/** The files attached to the image, staged at synth as one tar in S3. */
export interface StagedArtifacts {
  readonly bucket: string;
  readonly key: string;
  readonly artifacts: readonly PlanArtifact[];
}

export function parseSettings(props: ImageProperties): ImageSettings {
  if (!props.RepositoryName) throw new ImagePublishError('RepositoryName is required');
  const source = props.SourceImage !== undefined ? parseRegistrySource(props) : parseArchiveSource(props);
  return {
    repositoryName: props.RepositoryName,
    source,
    tags: parseTags(props.Tags),
    compressLayers: source.kind === 'archive' && parseFlag(props.CompressLayers, 'CompressLayers'),
    concurrency: parseConcurrency(props.Concurrency),
    deleteOnRemove: parseFlag(props.DeleteOnRemove, 'DeleteOnRemove'),
    ...(props.Artifacts !== undefined ? { artifacts: parseArtifacts(props) } : {}),
  };
}

/**
 * The attached files: their staged tar's location and the plan, every member checked (the handler writes their
 * manifests from it: a media type that is no media type would make a manifest ECR Public refuses half way).
 */
function parseArtifacts(props: ImageProperties): StagedArtifacts {
  if (!props.ArtifactsBucket || !props.ArtifactsKey) throw new ImagePublishError('Artifacts needs ArtifactsBucket and ArtifactsKey');
  let plan: ArtifactsPlan;
  try {
    plan = JSON.parse(props.Artifacts!) as ArtifactsPlan;
  } catch (err) {
    throw new ImagePublishError(`Artifacts is not valid JSON: ${(err as Error).message}`);
  }
  const bad = (why: string) => new ImagePublishError(`Artifacts: ${why}`);
  if (typeof plan !== 'object' || plan === null || plan.version !== 1 || !Array.isArray(plan.artifacts)) {
    throw bad('needs version 1 and a list of artifacts');
  }
  plan.artifacts.forEach((a: PlanArtifact, i) => {
    if (typeof a !== 'object' || a === null) throw bad(`artifacts[${i}] is not an object`);
    if (!isSha256Digest(a.digest)) throw bad(`artifacts[${i}].digest ${JSON.stringify(a.digest)} is not a sha256 digest`);
    if (!Number.isSafeInteger(a.size) || a.size < 1 || a.size > MAX_ARTIFACT_BYTES) throw bad(`artifacts[${i}].size must be 1 to ${MAX_ARTIFACT_BYTES}`);
    if (!Number.isSafeInteger(a.offset) || a.offset < 0) throw bad(`artifacts[${i}].offset must be a non-negative integer`);
    for (const field of ['artifactType', 'mediaType'] as const) {
      if (typeof a[field] !== 'string' || !MEDIA_TYPE_PATTERN.test(a[field])) throw bad(`artifacts[${i}].${field} must be a media type`);
    }
    if (typeof a.title !== 'string' || a.title === '') throw bad(`artifacts[${i}].title must be a non-empty string`);
    const annotations: unknown = a.annotations;
    if (annotations !== undefined && (typeof annotations !== 'object' || annotations === null
      || Object.values(annotations).some((v) => typeof v !== 'string'))) {
      throw bad(`artifacts[${i}].annotations must map strings to strings`);
    }
  });
  return { bucket: props.ArtifactsBucket, key: props.ArtifactsKey, artifacts: plan.artifacts };
}

function parseArchiveSource(props: ImageProperties): ArchiveSettings {
  if (!props.ArchiveBucket || !props.ArchiveKey) throw new ImagePublishError('ArchiveBucket and ArchiveKey (or SourceImage) are required');
  if (props.Plan === undefined) throw new ImagePublishError('Plan is required with ArchiveBucket and ArchiveKey');
  const plan = parsePlan(props.Plan);
  if (props.SourceDigest !== undefined && props.SourceDigest !== plan.rootDigest) {
    throw new ImagePublishError(`SourceDigest ${props.SourceDigest} is not the plan's root digest ${plan.rootDigest}`);
  }
  return { kind: 'archive', bucket: props.ArchiveBucket, key: props.ArchiveKey, plan };
}

function parseRegistrySource(props: ImageProperties): RegistrySettings {
  for (const archiveOnly of ['ArchiveBucket', 'ArchiveKey', 'Plan'] as const) {
    if (props[archiveOnly] !== undefined) throw new ImagePublishError(`SourceImage and ${archiveOnly} exclude each other: an image has one source`);
  }
  let reference: ImageReference;
  let platform: PlatformSpec | undefined;
  try {
    reference = parseImageReference(props.SourceImage!);
    platform = props.SourcePlatform === undefined || props.SourcePlatform === '' ? undefined : parsePlatform(props.SourcePlatform);
  } catch (err) {
    throw new ImagePublishError((err as Error).message);
  }
  const given: string | undefined = props.SourceAuth;
  const auth = (given === undefined || given === '' ? 'anonymous' : given) as SourceAuth;
  if (!SOURCE_AUTHS.includes(auth)) {
    throw new ImagePublishError(`SourceAuth must be one of ${SOURCE_AUTHS.join(', ')} (got ${JSON.stringify(props.SourceAuth)})`);
  }
  if (auth === 'secret' && !props.SourceSecretArn) throw new ImagePublishError("SourceAuth 'secret' needs SourceSecretArn");
  if (auth === 'ecr' && !props.SourceEcrRegion) throw new ImagePublishError("SourceAuth 'ecr' needs SourceEcrRegion");
  return {
    kind: 'registry',
    reference,
    auth,
    ...(auth === 'secret' ? { secretArn: props.SourceSecretArn } : {}),
    ...(auth === 'ecr' ? { ecrRegion: props.SourceEcrRegion } : {}),
    ...(platform ? { platform } : {}),
    includeReferrers: props.IncludeReferrers === undefined || parseFlag(props.IncludeReferrers, 'IncludeReferrers'),
  };
}

export function parseTags(tags: unknown): string[] {
  if (tags === undefined || tags === null || tags === '') return [];
  if (!Array.isArray(tags)) throw new ImagePublishError(`Tags must be a list of strings (got ${JSON.stringify(tags)})`);
  for (const t of tags) {
    if (typeof t !== 'string' || t.length === 0 || t.length > MAX_TAG_LENGTH) {
      throw new ImagePublishError(`each tag must be a string of 1 to ${MAX_TAG_LENGTH} characters (got ${JSON.stringify(t)})`);
    }
  }
  return [...new Set(tags as string[])];
}

function parseFlag(value: unknown, name: string): boolean {
  if (value === undefined || value === 'false' || value === false) return false;
  if (value === 'true' || value === true) return true;
  throw new ImagePublishError(`${name} must be 'true' or 'false' (got ${JSON.stringify(value)})`);
}

function parseConcurrency(value: unknown): number {
  if (value === undefined || value === '') return DEFAULT_CONCURRENCY;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) {
    throw new ImagePublishError(`Concurrency must be an integer from 1 to ${MAX_CONCURRENCY} (got ${JSON.stringify(value)})`);
  }
  return n;
}

/** Parses the plan and checks what the handler relies on: digests, offsets, and manifest bytes matching digests. */
export function parsePlan(text: string): PublishPlan {
  let plan: PublishPlan;
  try {
    plan = JSON.parse(text) as PublishPlan;
  } catch (err) {
    throw new ImagePublishError(`Plan is not valid JSON: ${(err as Error).message}`);
  }
  const bad = (why: string) => new ImagePublishError(`Plan: ${why}`);
  if (typeof plan !== 'object' || plan === null) throw bad('not an object');
  if (plan.version !== 1) throw bad(`unsupported version ${JSON.stringify(plan.version)}`);
  if (!Array.isArray(plan.blobs) || !Array.isArray(plan.manifests) || plan.manifests.length === 0) {
    throw bad('needs a list of blobs and a non-empty list of manifests');
  }
  plan.blobs.forEach((b: PlanBlob, i) => {
    if (!isSha256Digest(b?.digest)) throw bad(`blobs[${i}].digest ${JSON.stringify(b?.digest)} is not a sha256 digest`);
    for (const field of ['size', 'offset'] as const) {
      if (!Number.isSafeInteger(b[field]) || b[field] < 0) throw bad(`blobs[${i}].${field} of ${b.digest} must be a non-negative integer`);
    }
  });
  const checkManifest = (list: string) => (m: PlanManifest, i: number) => {
    if (typeof m?.manifest !== 'string' || typeof m.mediaType !== 'string' || typeof m.digest !== 'string') {
      throw bad(`${list}[${i}] needs digest, mediaType and manifest`);
    }
    const got = sha256(m.manifest);
    if (got !== m.digest) throw bad(`${list}[${i}] is digested ${m.digest} but its text hashes to ${got}`);
  };
  plan.manifests.forEach(checkManifest('manifests'));
  if (plan.manifests[plan.manifests.length - 1].digest !== plan.rootDigest) {
    throw bad(`rootDigest ${plan.rootDigest} is not the digest of the last manifest`);
  }
  if (plan.referrers !== undefined) {
    if (!Array.isArray(plan.referrers)) throw bad('referrers must be a list of manifests');
    plan.referrers.forEach(checkManifest('referrers'));
    checkReferrerOrder(plan.manifests, plan.referrers, (why) => bad(why));
  }
  return plan;
}

/**
 * Refuses referrers that are not the image's: each one's `subject` must be a manifest of the image or a referrer before
 * it, or a child of a referrer index that follows it (such a child has no subject of its own): a plan never makes the
 * handler attach anything to an image it does not publish.
 */
function checkReferrerOrder(image: readonly PlanManifest[], referrers: readonly PlanManifest[], fail: (why: string) => Error): void {
  const known = new Set(image.map((m) => m.digest));
  const parsed = referrers.map((m) => {
    try {
      return JSON.parse(m.manifest) as { manifests?: Array<{ digest?: unknown }>; subject?: { digest?: unknown } };
    } catch {
      throw fail(`referrer ${m.digest} is not JSON`);
    }
  });
  const childrenOfLater = new Set<string>();
  for (const json of parsed) {
    for (const child of Array.isArray(json?.manifests) ? json.manifests : []) if (typeof child?.digest === 'string') childrenOfLater.add(child.digest);
  }
  for (const [i, m] of referrers.entries()) {
    const digest = parsed[i]?.subject?.digest;
    const subject = typeof digest === 'string' ? digest : undefined;
    if (subject === undefined ? !childrenOfLater.has(m.digest) : !known.has(subject)) {
      throw fail(`referrer ${m.digest} is not a referrer of the image (its subject ${subject ?? 'is missing'}`
        + `${subject === undefined ? '' : ' is no manifest of the image or an earlier referrer'})`);
    }
    known.add(m.digest);
  }
}

