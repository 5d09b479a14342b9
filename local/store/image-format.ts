/** Manifest media types the service stores (Docker schema 1 and 2, manifest lists, OCI manifests and indexes). */

export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST_V1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_MANIFEST_V1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export const IMAGE_MANIFEST_TYPES: readonly string[] = [DOCKER_MANIFEST_V2, OCI_MANIFEST];
export const SCHEMA1_MANIFEST_TYPES: readonly string[] = [DOCKER_MANIFEST_V1, DOCKER_MANIFEST_V1_SIGNED];
export const INDEX_TYPES: readonly string[] = [DOCKER_MANIFEST_LIST, OCI_INDEX];
export const MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...SCHEMA1_MANIFEST_TYPES, ...INDEX_TYPES];
