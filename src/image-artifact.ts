import * as fs from 'fs';
import * as path from 'path';
import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { hashFile } from './private/archive/chunked-io';
import { BoundArtifact } from './private/image-binding';
import { invalid } from './private/validation';
import { MEDIA_TYPE_PATTERN } from './shared/oci/artifact';
import { MAX_ARTIFACT_BYTES } from './shared/publish-plan';

/** Options of {@link ImageArtifact.fromFile}. */
export interface ImageArtifactOptions {
  /**
   * What the artifact is, as a media type: `application/spdx+json` (an SPDX SBOM), `application/vnd.cyclonedx+json`,
   * `application/vnd.in-toto+json` (a provenance statement). Clients filter an image's referrers by it.
   */
  readonly artifactType: string;

  /**
   * The media type of the file itself (the artifact's one layer).
   * @default 'application/octet-stream'
   */
  readonly mediaType?: string;

  /**
   * Annotations of the artifact manifest (`org.opencontainers.image.created`, `org.opencontainers.image.description`,
   * ...). The file's name is given as its layer's `org.opencontainers.image.title` already.
   * @default - none
   */
  readonly annotations?: { [key: string]: string };
}

/**
 * A file attached to a published image as an OCI 1.1 artifact (an SBOM, a provenance statement, a license): a
 * manifest with the empty config, the file as its one layer, and the published image as its `subject`, so that
 * `GET /v2/<name>/referrers/<digest>` (oras, cosign, notation) lists it with the image. The manifest is made from the
 * file's content and the image's digest only: an unchanged file attached to an unchanged image is no update.
 */
export abstract class ImageArtifact {
  /** The file `file`, read at synth (it must exist then) and staged as an asset. */
  public static fromFile(file: string, options: ImageArtifactOptions): ImageArtifact {
    return new FileArtifact(file, options);
  }

  /**
   * Checks the artifact for `scope` (the `PublicImage`), as its property `prop`, and describes its file.
   * @internal
   */
  public abstract _bind(scope: IConstruct, prop: string): BoundArtifact;
}

const DEFAULT_MEDIA_TYPE = 'application/octet-stream';

class FileArtifact extends ImageArtifact {
  constructor(private readonly file: string, private readonly options: ImageArtifactOptions) {
    super();
  }

  public _bind(scope: IConstruct, prop: string): BoundArtifact {
    const { artifactType, annotations } = this.options;
    const mediaType = this.options.mediaType ?? DEFAULT_MEDIA_TYPE;
    for (const [name, value] of [['artifactType', artifactType], ['mediaType', mediaType]] as const) {
      if (Token.isUnresolved(value)) invalid(scope, `${prop}.${name}`, 'must be known at synth (the manifest is written from it)');
      if (!MEDIA_TYPE_PATTERN.test(value)) invalid(scope, `${prop}.${name}`, 'must be a media type (type/subtype, RFC 6838)', JSON.stringify(value));
    }
    for (const [key, value] of Object.entries(annotations ?? {})) {
      if (key === '' || Token.isUnresolved(key) || Token.isUnresolved(value) || typeof value !== 'string') {
        invalid(scope, `${prop}.annotations`, 'must map non-empty keys to strings, known at synth', JSON.stringify(key));
      }
    }
    let real: string;
    let stat: fs.Stats;
    try {
      real = fs.realpathSync(path.resolve(this.file));
      stat = fs.statSync(real);
    } catch (err) {
      invalid(scope, prop, `must name a readable file: ${(err as Error).message}`, JSON.stringify(this.file));
    }
    if (!stat.isFile()) invalid(scope, prop, 'must name a regular file', JSON.stringify(this.file));
    if (stat.size < 1 || stat.size > MAX_ARTIFACT_BYTES) {
      invalid(scope, prop, `must be a file of 1 byte to ${MAX_ARTIFACT_BYTES} bytes (a layer ECR Public's layered upload takes)`, `${stat.size} bytes`);
    }
    return {
      path: real,
      artifactType,
      mediaType,
      digest: `sha256:${hashFile(real)}`,
      size: stat.size,
      title: path.basename(this.file),
      ...(annotations && Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
    };
  }
}
