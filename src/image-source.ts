import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Construct } from 'constructs';
import { inspectImageArchive } from './private/archive/inspect';
import { PublishPlan } from './private/publish-plan';

/** Options for images read from an archive or a layout. */
export interface ArchiveImageOptions {
  /**
   * Which image to publish when the source holds several: a tag name (`org.opencontainers.image.ref.name`), an image
   * name (`io.containerd.image.name` or a docker-save `RepoTags` entry), or a manifest digest.
   * @default - the only image in the source; a source with several images is an error that lists them
   */
  readonly ref?: string;
}

/** An image source read at synth time: the staged archive and the plan to publish it. */
interface ImageSourceBinding {
  /** The uncompressed tar uploaded as the deploy asset. */
  readonly archivePath: string;
  /** Where each blob is in `archivePath`, and the manifests. */
  readonly plan: PublishPlan;
}

/**
 * Where the image to publish comes from. Sources are read at synth time (index and manifests only, never layer
 * contents of an uncompressed archive): anything that is not a valid image fails `cdk synth`.
 */
export abstract class ImageSource {
  /**
   * An image tarball: an OCI archive (`docker buildx build --output type=oci`, `skopeo copy ... oci-archive:`) or a
   * `docker save` archive (the legacy form and the Docker 25+ form), optionally gzip-compressed.
   */
  public static fromTarball(file: string, options: ArchiveImageOptions = {}): ImageSource {
    return new ArchiveSource(file, options);
  }

  /** An OCI image layout directory (`oci-layout`, `index.json`, `blobs/`). */
  public static fromOciLayout(directory: string, options: ArchiveImageOptions = {}): ImageSource {
    return new ArchiveSource(directory, options);
  }

  /**
   * Reads the source for `scope`. Called by `PublicImage`.
   * @internal
   */
  public abstract _bind(scope: Construct): ImageSourceBinding;
}

class ArchiveSource extends ImageSource {
  private binding?: ImageSourceBinding;

  constructor(private readonly source: string, private readonly options: ArchiveImageOptions) {
    super();
  }

  public _bind(_scope: Construct): ImageSourceBinding {
    // The same source bound twice (two repositories) is inspected once.
    if (!this.binding) {
      if (!fs.existsSync(this.source)) throw new Error(`${this.source}: no such file or directory`);
      const stagingDir = path.join(os.tmpdir(), 'cdk-ecr-public-staging');
      fs.mkdirSync(stagingDir, { recursive: true });
      const { archivePath, plan } = inspectImageArchive(path.resolve(this.source), { ref: this.options.ref, stagingDir });
      this.binding = { archivePath, plan };
    }
    return this.binding;
  }
}
