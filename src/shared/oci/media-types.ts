/** Media types of images (ecr-public-api.md §9.1): the one list the archive inspector, the publisher and the test tools use. */

/** OCI image index. */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** OCI image manifest. */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** Docker image manifest, schema 2. */
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
/** Docker manifest list. */
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** Docker image config (what a synthesised docker-save manifest calls the config). */
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
/** Docker uncompressed layer (docker-save layer tars are uncompressed; the publisher may gzip them). */
export const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';
/** Docker gzip layer (what the publisher names a layer it compressed in a Docker manifest). */
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
/** OCI image config. */
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** OCI uncompressed layer. */
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
/** OCI gzip layer (what the publisher names a layer it compressed in an OCI manifest). */
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** The empty JSON blob (`{}`) OCI 1.1 artifacts use as their config. */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/** Manifests that list other manifests. */
export const INDEX_TYPES: ReadonlySet<string> = new Set([OCI_INDEX, DOCKER_MANIFEST_LIST]);
/** Manifests that list a config and layers. */
export const IMAGE_MANIFEST_TYPES: ReadonlySet<string> = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);
/** Every manifest type the publisher can push (and ECR Public takes), indexes first. */
export const MANIFEST_TYPES: readonly string[] = [...INDEX_TYPES, ...IMAGE_MANIFEST_TYPES];

/** True for an index (OCI image index or Docker manifest list). */
export function isIndex(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType);
}

/** True for an image manifest (OCI or Docker schema 2). */
export function isImageManifest(mediaType: string): boolean {
  return IMAGE_MANIFEST_TYPES.has(mediaType);
}

/** True for any manifest type the publisher can push. */
export function isManifestType(mediaType: string): boolean {
  return isIndex(mediaType) || isImageManifest(mediaType);
}
