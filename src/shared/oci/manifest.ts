/**
 * Reading one manifest (OCI image spec manifest.md and image-index.md, Docker schema 2): its exact text, its media type
 * and what it lists. The synth-time inspector and the image publisher both read manifests through here, so an archive
 * and a registry image are held to the same rules.
 */
import { Descriptor, parseDescriptor } from './descriptor';
import { isImageManifest, isIndex, isManifestType, MANIFEST_TYPES } from './media-types';

/** Where else a manifest's media type may be named than in its own `mediaType` member. */
export interface MediaTypeHints {
  /** The `mediaType` of the descriptor that listed the manifest (an index entry). */
  readonly descriptor?: string;
  /** The `Content-Type` a registry served the manifest with (parameters removed, lower case). */
  readonly served?: string;
}

/** A manifest, read and checked: an index and the manifests it lists, or an image manifest and its blobs. */
export type ParsedManifest = ParsedIndex | ParsedImageManifest;

interface ParsedCommon {
  readonly digest: string;
  readonly mediaType: string;
  /** The exact text: pushed as it is, since the digest is over these bytes. */
  readonly text: string;
  readonly json: Readonly<Record<string, unknown>>;
}

/** An OCI image index or Docker manifest list. */
export interface ParsedIndex extends ParsedCommon {
  readonly kind: 'index';
  readonly manifests: readonly Descriptor[];
}

/** An OCI image manifest or Docker schema 2 manifest. */
export interface ParsedImageManifest extends ParsedCommon {
  readonly kind: 'image';
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

/**
 * The media type of a manifest, the one rule for archives and registries:
 * - a Docker schema 1 manifest is refused (ECR Public does not take it);
 * - its own `mediaType` member, when present, must be a string and a manifest type the publisher can push;
 * - otherwise the type is the descriptor's, else the served `Content-Type`, whichever is a manifest type: the shape is
 *   never guessed from (a manifest nobody names is refused: the index entry's `mediaType` is required by the spec, and
 *   registries serve the type they were given);
 * - every hint that names a manifest type must name the same type (a descriptor or a registry that says otherwise than
 *   the manifest is refused, as a digest that does not match is). Hints of other types (`application/json`) are ignored.
 */
export function manifestMediaType(json: Readonly<Record<string, unknown>>, hints: MediaTypeHints, where: string): string {
  if (json.schemaVersion === 1) {
    throw new Error(`${where} is a Docker schema 1 manifest, which ECR Public does not take: use a schema 2 or OCI image`);
  }
  const own = json.mediaType;
  if (own !== undefined && typeof own !== 'string') throw new Error(`${where} has a non-string mediaType`);
  if (own !== undefined && !isManifestType(own)) {
    throw new Error(`${where} has unknown media type '${own}' (the publisher takes ${MANIFEST_TYPES.join(', ')})`);
  }
  const descriptor = hints.descriptor !== undefined && isManifestType(hints.descriptor) ? hints.descriptor : undefined;
  const served = hints.served !== undefined && isManifestType(hints.served) ? hints.served : undefined;
  const mediaType = own ?? descriptor ?? served;
  if (mediaType === undefined) {
    throw new Error(`${where} has no media type (no mediaType member, none in its descriptor${hints.served !== undefined ? ', none served' : ''})`);
  }
  if (descriptor !== undefined && descriptor !== mediaType) throw new Error(`${where} is ${mediaType}, its descriptor says ${descriptor}`);
  if (served !== undefined && served !== mediaType) throw new Error(`${where} is ${mediaType} but was served as ${served}`);
  return mediaType;
}

/**
 * Reads the manifest `bytes` whose digest `digest` the caller has verified: UTF-8 that turns back into exactly these
 * bytes (the publisher carries the text, and ECR Public stores text), a JSON object, of a manifest type
 * (`manifestMediaType`), with the members its type requires. `where` starts every message.
 */
export function parseManifest(bytes: Buffer, digest: string, hints: MediaTypeHints, where: string): ParsedManifest {
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new Error(`${where} is not valid UTF-8`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${where} is not a JSON object`);
  const object = json as Record<string, unknown>;
  const mediaType = manifestMediaType(object, hints, where);
  if (isIndex(mediaType)) {
    if (!Array.isArray(object.manifests)) throw new Error(`${where}: index has no manifests array`);
    const manifests = object.manifests.map((child, i) => parseDescriptor(child, `${where} manifests[${i}]`));
    return { kind: 'index', digest, mediaType, text, json: object, manifests };
  }
  if (!isImageManifest(mediaType)) throw new Error(`${where} has unknown media type '${mediaType}'`);
  const config = parseDescriptor(object.config, `${where} config`);
  const layers = object.layers ?? [];
  if (!Array.isArray(layers)) throw new Error(`${where}: layers is not an array`);
  return {
    kind: 'image',
    digest,
    mediaType,
    text,
    json: object,
    config,
    layers: layers.map((layer, i) => parseDescriptor(layer, `${where} layers[${i}]`)),
  };
}
