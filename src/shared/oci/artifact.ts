/**
 * OCI 1.1 artifact manifests (image-spec manifest.md, "Guidelines for Artifact Usage"): the empty config, one file as
 * the one layer, `subject` the image it is attached to. The one builder of the artifacts `PublicImage` attaches: the
 * handler writes them at deploy (the subject is the image as published); the same inputs give the same bytes, so an
 * unchanged file attached to an unchanged image is the same manifest.
 */
import { Descriptor } from './descriptor';
import { OCI_EMPTY, OCI_MANIFEST } from './media-types';

/** The empty JSON blob (`{}`) and its descriptor: the config of an artifact without one. */
export const EMPTY_BLOB = Buffer.from('{}', 'utf8');
export const EMPTY_DESCRIPTOR = {
  mediaType: OCI_EMPTY,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
} as const;

/** The annotation naming a layer's file. */
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';

/**
 * A media type as RFC 6838 names it (`type/subtype`, each a restricted name of at most 127 characters, suffixes such
 * as `+json` included), without parameters: what `artifactType` and a layer's `mediaType` must be.
 */
export const MEDIA_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** One file attached to an image. */
export interface ArtifactFile {
  /** The artifact's type (`application/spdx+json`). */
  readonly artifactType: string;
  /** The file: its blob's digest, size and media type. */
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  /** The file's name, the layer's `org.opencontainers.image.title`. */
  readonly title: string;
  /** The manifest's annotations. @default - none */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The exact text of the artifact manifest of `file` attached to `subject` (a manifest descriptor, media type given). */
export function artifactManifest(file: ArtifactFile, subject: Descriptor & { readonly mediaType: string }): string {
  const annotations = file.annotations && Object.keys(file.annotations).length > 0
    ? Object.fromEntries(Object.entries(file.annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : undefined;
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: file.artifactType,
    config: EMPTY_DESCRIPTOR,
    layers: [{ mediaType: file.mediaType, digest: file.digest, size: file.size, annotations: { [TITLE_ANNOTATION]: file.title } }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(annotations ? { annotations } : {}),
  });
}
