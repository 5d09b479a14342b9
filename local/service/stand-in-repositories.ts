/**
 * The stand-ins for the private Amazon ECR repositories a CDK app's Docker image assets are pushed to (the bootstrap's
 * `cdk-hnb659fds-container-assets-<account>-<region>`): each one an OCI image layout under `<root>/private-ecr/<name>/`,
 * written by the local deployer's container engine (`buildah push <image> oci:<dir>:<tag>`, as cdk-assets pushes to
 * ECR), and read here for the registry API (`distribution/stand-in.ts`), whose clients authenticate with the password
 * of the private ECR API's GetAuthorizationToken (`private-ecr/endpoint.ts`). The emulator never writes them.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** The folder of the emulator's root holding one OCI layout per stand-in repository. */
export const STAND_IN_FOLDER = 'private-ecr';

/**
 * A stand-in repository's name: one path segment in private ECR's grammar. A public repository is always named
 * `<alias>/<name>` on the registry API, so the two never meet.
 */
const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const DIGEST = /^sha256:([a-f0-9]{64})$/;
const REF_NAME = 'org.opencontainers.image.ref.name';
/** A manifest larger than this is not read (ECR's own cap on manifests is 4 MiB). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** A manifest of a stand-in repository, byte for byte as the layout holds it. */
export interface StandInManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

/** The layout directory of the stand-in repository `name` under `root`, whether it exists or not; undefined for a name outside the grammar. */
export function standInDirectory(root: string, name: string): string | undefined {
  return NAME.test(name) && name.length <= 256 ? path.join(root, STAND_IN_FOLDER, name) : undefined;
}

/** Whether `root` holds the stand-in repository `name` (a layout with its `index.json`). */
export function hasStandIn(root: string, name: string): boolean {
  const dir = standInDirectory(root, name);
  return dir !== undefined && fs.existsSync(path.join(dir, 'index.json'));
}

interface Descriptor {
  readonly mediaType?: unknown;
  readonly digest?: unknown;
  readonly annotations?: Record<string, unknown>;
}

/** The `manifests` of the layout's `index.json`; an unreadable index holds nothing. */
function indexEntries(dir: string): Descriptor[] {
  try {
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests?: unknown };
    return Array.isArray(index.manifests) ? index.manifests.filter((d): d is Descriptor => typeof d === 'object' && d !== null) : [];
  } catch {
    return [];
  }
}

/** The tags of the stand-in repository `name`, sorted. */
export function standInTags(root: string, name: string): string[] {
  const dir = standInDirectory(root, name);
  if (dir === undefined) return [];
  const tags = indexEntries(dir).map((d) => d.annotations?.[REF_NAME]).filter((t): t is string => typeof t === 'string');
  return [...new Set(tags)].sort();
}

/**
 * The manifest `reference` (a tag, or a digest the index names or one of its indexes lists) of the stand-in repository
 * `name`; undefined when it holds none. Its bytes are checked against their digest.
 */
export function standInManifest(root: string, name: string, reference: string): StandInManifest | undefined {
  const dir = standInDirectory(root, name);
  if (dir === undefined) return undefined;
  const entries = indexEntries(dir);
  const top = DIGEST.test(reference)
    ? entries.find((d) => d.digest === reference)
    : entries.find((d) => d.annotations?.[REF_NAME] === reference);
  if (top !== undefined) return readManifest(dir, top);
  if (!DIGEST.test(reference)) return undefined;
  // A platform's manifest, listed by an image index of the layout.
  for (const entry of entries) {
    const parent = readManifest(dir, entry);
    const children = parent ? (JSON.parse(parent.bytes.toString('utf8')) as { manifests?: unknown }).manifests : undefined;
    const child = Array.isArray(children) ? (children as Descriptor[]).find((d) => d?.digest === reference) : undefined;
    if (child) return readManifest(dir, child);
  }
  return undefined;
}

function readManifest(dir: string, descriptor: Descriptor): StandInManifest | undefined {
  if (typeof descriptor.digest !== 'string' || typeof descriptor.mediaType !== 'string') return undefined;
  const blob = blobFile(dir, descriptor.digest);
  if (blob === undefined || blob.size > MAX_MANIFEST_BYTES) return undefined;
  const bytes = fs.readFileSync(blob.file);
  if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== descriptor.digest) return undefined;
  return { digest: descriptor.digest, mediaType: descriptor.mediaType, bytes };
}

/** The file and size of the blob `digest` of the stand-in repository `name`; undefined when it holds none. */
export function standInBlob(root: string, name: string, digest: string): { file: string; size: number } | undefined {
  const dir = standInDirectory(root, name);
  return dir === undefined ? undefined : blobFile(dir, digest);
}

/** `blobs/sha256/<hex>` of the layout `dir`: a regular file whose real path lies inside the layout. */
function blobFile(dir: string, digest: string): { file: string; size: number } | undefined {
  const hex = DIGEST.exec(digest)?.[1];
  if (hex === undefined) return undefined;
  try {
    const real = fs.realpathSync(path.join(dir, 'blobs', 'sha256', hex));
    if (!real.startsWith(fs.realpathSync(dir) + path.sep)) return undefined;
    const stat = fs.statSync(real);
    return stat.isFile() ? { file: real, size: stat.size } : undefined;
  } catch {
    return undefined;
  }
}
