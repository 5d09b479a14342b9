/**
 * OCI 1.1 referrers for tests: attaching an artifact to a manifest of an OCI layout as `oras attach --oci-layout`
 * does (the empty config, the file as the one layer, `subject` the manifest, an unnamed `index.json` entry), and
 * pushing and reading them in a registry over plain HTTP (blobs, manifests, the referrers tag, the referrers index).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OciIndexJson, writeBlob } from './oci-layout';
import { blobName, sha256 } from '../../src/shared/oci/digest';
import { OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from '../../src/shared/oci/media-types';

/** The manifest an artifact is attached to. */
export interface Subject {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
}

/** An artifact written into a layout. */
export interface AttachedArtifact extends Subject {
  readonly artifactType: string;
  /** The exact manifest bytes. */
  readonly bytes: Buffer;
  /** The file's blob. */
  readonly layer: { readonly digest: string; readonly size: number };
}

export interface AttachOptions {
  readonly artifactType: string;
  readonly content: string | Buffer;
  /** The file's name (the layer's `org.opencontainers.image.title`). @default 'artifact' */
  readonly title?: string;
  /** The manifest's annotations. @default - none */
  readonly annotations?: Record<string, string>;
}

/** Attaches an artifact to `subject` in the layout `dir`, as `oras attach --oci-layout` does. */
export function attachToLayout(dir: string, subject: Subject, options: AttachOptions): AttachedArtifact {
  const empty = writeBlob(dir, Buffer.from('{}'));
  const layer = writeBlob(dir, Buffer.from(options.content));
  const bytes = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: options.artifactType,
    config: { mediaType: OCI_EMPTY, ...empty },
    layers: [{ mediaType: 'application/octet-stream', ...layer, annotations: { 'org.opencontainers.image.title': options.title ?? 'artifact' } }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(options.annotations ? { annotations: options.annotations } : {}),
  }));
  const manifest = writeBlob(dir, bytes);
  const indexFile = path.join(dir, 'index.json');
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as OciIndexJson;
  const entry = { mediaType: OCI_MANIFEST, ...manifest, artifactType: options.artifactType };
  fs.writeFileSync(indexFile, JSON.stringify({ ...index, manifests: [...index.manifests, entry] }));
  return { ...manifest, mediaType: OCI_MANIFEST, artifactType: options.artifactType, bytes, layer };
}

/** A descriptor of a referrers index. */
export interface ReferrerEntry {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
}

/** A registry repository read over plain HTTP (anonymous pulls): `http://host/v2/<name>/`. */
export class RegistryReader {
  constructor(private readonly base: string) {}

  /** The referrers index of `digest` (`?artifactType=` when given). */
  public async referrers(digest: string, artifactType?: string): Promise<ReferrerEntry[]> {
    const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
    const res = await fetch(`${this.base}/referrers/${digest}${query}`);
    if (res.status !== 200) throw new Error(`referrers of ${digest}: HTTP ${res.status} ${await res.text()}`);
    return ((await res.json()) as { manifests: ReferrerEntry[] }).manifests;
  }

  /** The exact bytes of the manifest `reference`. */
  public async manifest(reference: string): Promise<Buffer> {
    return this.bytes(`manifests/${reference}`);
  }

  /** The exact bytes of the blob `digest`. */
  public async blob(digest: string): Promise<Buffer> {
    return this.bytes(`blobs/${digest}`);
  }

  private async bytes(rest: string): Promise<Buffer> {
    const res = await fetch(`${this.base}/${rest}`);
    if (res.status !== 200) throw new Error(`GET ${rest}: HTTP ${res.status} ${await res.text()}`);
    return Buffer.from(await res.arrayBuffer());
  }
}

/** Pushes raw content into a registry repository over HTTP (`http://host/v2/<name>`), as oras does. */
export class RegistryWriter {
  /** @param headers sent with every request (an `Authorization`). */
  constructor(private readonly base: string, private readonly headers: Record<string, string> = {}) {}

  /** A blob: an upload started (POST), then sent and completed in one PUT, which every registry takes. */
  public async blob(bytes: Buffer): Promise<void> {
    const started = await fetch(`${this.base}/blobs/uploads/`, { method: 'POST', headers: this.headers });
    const location = started.headers.get('location');
    if (started.status !== 202 || location === null) throw new Error(`blob upload: HTTP ${started.status} ${await started.text()}`);
    await started.arrayBuffer();
    const url = new URL(location, this.base);
    url.searchParams.set('digest', sha256(bytes));
    const res = await fetch(url, { method: 'PUT', headers: { ...this.headers, 'content-type': 'application/octet-stream' }, body: bytes });
    if (res.status !== 201) throw new Error(`blob upload: HTTP ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }

  /** A manifest under `reference` (a tag or its digest); returns the answer's headers. */
  public async manifest(reference: string, bytes: Buffer, mediaType: string): Promise<Headers> {
    const res = await fetch(`${this.base}/manifests/${reference}`, {
      method: 'PUT', headers: { ...this.headers, 'content-type': mediaType }, body: bytes,
    });
    if (res.status !== 201) throw new Error(`manifest ${reference}: HTTP ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    return res.headers;
  }

  /** An artifact attached in the layout `layoutDir` (its blobs read from there), by digest. */
  public async artifact(layoutDir: string, artifact: AttachedArtifact): Promise<Headers> {
    await this.blob(Buffer.from('{}'));
    await this.blob(fs.readFileSync(path.join(layoutDir, blobName(artifact.layer.digest))));
    return this.manifest(artifact.digest, artifact.bytes, artifact.mediaType);
  }

  /** The distribution spec's referrers tag of `subject` (`sha256-<hex>`): an index of `artifacts`. */
  public async referrersTag(subject: string, artifacts: readonly AttachedArtifact[]): Promise<void> {
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: artifacts.map((a) => ({ mediaType: a.mediaType, digest: a.digest, size: a.size, artifactType: a.artifactType })),
    }));
    await this.manifest(subject.replace(':', '-'), index, OCI_INDEX);
  }
}
