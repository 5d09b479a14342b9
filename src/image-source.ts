import * as fs from 'fs';
import * as path from 'path';
import { Size, Stack, Token, aws_ecr_assets as ecr_assets, aws_iam as iam, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { inspectImageArchive } from './private/archive/inspect';
import { defaultStagingDir } from './private/archive/layout-pack';
import { ArchiveBinding, BindOptions, ImageSourceBinding, RegistryBinding } from './private/image-binding';
import { WILDCARD_REASONS, withWildcardReason } from './private/nag-acknowledgements';
import { parseImageReference, parsePlatform, privateEcrRegistry } from './shared/image-reference';

/** Options for images read from an archive or a layout. */
export interface ArchiveImageOptions {
  /**
   * Which image to publish when the source holds several: a tag name (`org.opencontainers.image.ref.name`), an image
   * name (`io.containerd.image.name` or a docker-save `RepoTags` entry), or a manifest digest.
   * @default - the only image in the source; a source with several images is an error that lists them
   */
  readonly ref?: string;

  /**
   * The most a gzip-compressed archive (`.tar.gz`) may decompress to at synth. Synth stops with an error naming the
   * archive as soon as the output exceeds it, and leaves nothing behind, so that a small file made to inflate cannot
   * fill the disk. Raise it for an archive that truly holds more (an image with large runs of one byte).
   * @default - 100 times the compressed file's size, and at least 256 MiB
   */
  readonly maxDecompressedSize?: Size;
}

/** Options for images copied from a registry. */
export interface RegistryImageOptions {
  /**
   * A Secrets Manager secret holding the registry credentials as JSON: `{"username": "...", "password": "..."}`
   * (`accessToken` is accepted for `password`, as in ECR pull-through cache secrets). The handler reads it at deploy:
   * the credentials never appear in the template. The handler may read this secret and no other.
   * @default - no credentials: anonymous pulls (the registry's bearer-token flow when it asks for one); a private
   * Amazon ECR reference (`<account>.dkr.ecr.<region>.amazonaws.com/...`) uses `ecr:GetAuthorizationToken`
   */
  readonly credentials?: secretsmanager.ISecret;

  /**
   * Copy only this platform's image out of a multi-platform index, as `os/architecture[/variant]` (`linux/arm64`,
   * `linux/amd64`, `linux/arm/v7`). That image is then the published image: its tags point at it, not at an index.
   * @default - the whole index: every platform's image and every attestation manifest
   */
  readonly platform?: string;
}

/**
 * Where the image to publish comes from.
 *
 * - `fromTarball` and `fromOciLayout` are read at synth time (index and manifests only, never layer contents of an
 *   uncompressed archive): anything that is not a valid image fails `cdk synth`.
 * - `fromDirectory` and `fromDockerImageAsset` are built and pushed by the CDK toolkit like any `DockerImageAsset`,
 *   then copied into the public repository at deploy.
 * - `fromRegistry` is copied from another registry at deploy.
 */
export abstract class ImageSource {
  /**
   * An image tarball: an OCI archive (`docker buildx build --output type=oci`, `skopeo copy ... oci-archive:`) or a
   * `docker save` archive (the legacy form and the Docker 25+ form), optionally gzip-compressed.
   */
  public static fromTarball(file: string, options: ArchiveImageOptions = {}): ImageSource {
    return new ArchiveImageSource(file, options);
  }

  /** An OCI image layout directory (`oci-layout`, `index.json`, `blobs/`). */
  public static fromOciLayout(directory: string, options: ArchiveImageOptions = {}): ImageSource {
    return new ArchiveImageSource(directory, options);
  }

  /**
   * An image built from a directory with a Dockerfile: a `DockerImageAsset` (with these options) is created in the
   * `PublicImage`'s scope. `cdk deploy` builds it and pushes it to the bootstrap ECR repository, as it does every
   * Docker image asset (`cdk synth` needs no Docker engine); the handler then copies it into the public repository.
   */
  public static fromDirectory(directory: string, options: ecr_assets.DockerImageAssetOptions = {}): ImageSource {
    return new DirectorySource(directory, options);
  }

  /**
   * An image of an existing `DockerImageAsset`, copied from the asset's ECR repository into the public repository at
   * deploy (basic auth from `ecr:GetAuthorizationToken` in the asset's Region).
   */
  public static fromDockerImageAsset(asset: ecr_assets.DockerImageAsset): ImageSource {
    return new DockerAssetSource(asset);
  }

  /**
   * An image in another registry, copied at deploy: `ghcr.io/acme/tool:2.1`, `public.ecr.aws/docker/library/alpine:3.20`,
   * `alpine` (Docker Hub), or a reference by digest (`...@sha256:...`). A tag is resolved to a digest at each deploy
   * that creates or updates the resource, and the digest is reported as `PublicImage.sourceDigest`.
   */
  public static fromRegistry(reference: string, options: RegistryImageOptions = {}): ImageSource {
    return new RegistrySource(reference, options);
  }

  /**
   * Reads the source for `scope`. Called by `PublicImage`.
   * @internal
   */
  public abstract _bind(scope: Construct, options?: BindOptions): ImageSourceBinding;

  /**
   * The rule a source that cannot be bound breaks, for the error message.
   * @internal
   */
  public _rule(): string {
    return 'must be a valid image archive or layout';
  }
}

class ArchiveImageSource extends ImageSource {
  /** By whether referrers are included. */
  private readonly bindings = new Map<boolean, ArchiveBinding>();

  constructor(private readonly source: string, private readonly options: ArchiveImageOptions) {
    super();
  }

  public _bind(_scope: Construct, bindOptions: BindOptions = {}): ArchiveBinding {
    const includeReferrers = bindOptions.includeReferrers ?? true;
    // The same source bound twice (two repositories) is inspected once.
    let binding = this.bindings.get(includeReferrers);
    if (!binding) {
      if (!fs.existsSync(this.source)) throw new Error(`${this.source}: no such file or directory`);
      const stagingDir = defaultStagingDir();
      fs.mkdirSync(stagingDir, { recursive: true });
      const maxDecompressedBytes = this.options.maxDecompressedSize?.toBytes();
      const { archivePath, plan } = inspectImageArchive(path.resolve(this.source), {
        ref: this.options.ref, stagingDir, maxDecompressedBytes, includeReferrers,
      });
      binding = { kind: 'archive', archivePath, plan };
      this.bindings.set(includeReferrers, binding);
    }
    return binding;
  }
}

/** What pulling from the private ECR repository `repositoryArn` takes. */
function ecrPullStatements(repositoryArn: string): iam.PolicyStatement[] {
  return [
    // IAM accepts GetAuthorizationToken on no narrower resource.
    withWildcardReason(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }), WILDCARD_REASONS.authorizationToken),
    new iam.PolicyStatement({ actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], resources: [repositoryArn] }),
  ];
}

/** The image of a Docker image asset, pulled from the asset's repository with `ecr:GetAuthorizationToken`. */
function assetBinding(asset: ecr_assets.DockerImageAsset): RegistryBinding {
  return {
    kind: 'registry',
    reference: asset.imageUri,
    auth: 'ecr',
    ecrRegion: asset.repository.env.region,
    statements: ecrPullStatements(asset.repository.repositoryArn),
  };
}

class DockerAssetSource extends ImageSource {
  constructor(private readonly asset: ecr_assets.DockerImageAsset) {
    super();
  }

  public _bind(_scope: Construct): RegistryBinding {
    return assetBinding(this.asset);
  }
}

class DirectorySource extends ImageSource {
  /** One asset per PublicImage the source is bound to. */
  private readonly assets = new Map<Construct, ecr_assets.DockerImageAsset>();

  constructor(private readonly directory: string, private readonly options: ecr_assets.DockerImageAssetOptions) {
    super();
  }

  public _bind(scope: Construct): RegistryBinding {
    let asset = this.assets.get(scope);
    if (!asset) {
      asset = new ecr_assets.DockerImageAsset(scope, 'DockerImage', { ...this.options, directory: this.directory });
      this.assets.set(scope, asset);
    }
    return assetBinding(asset);
  }

  public _rule(): string {
    return 'must be a directory with a Dockerfile';
  }
}

class RegistrySource extends ImageSource {
  constructor(private readonly reference: string, private readonly options: RegistryImageOptions) {
    super();
  }

  public _bind(scope: Construct): RegistryBinding {
    const { credentials, platform } = this.options;
    const ref = Token.isUnresolved(this.reference) ? undefined : parseImageReference(this.reference);
    if (platform !== undefined && !Token.isUnresolved(platform)) parsePlatform(platform);
    const base = { kind: 'registry' as const, reference: this.reference, platform };
    if (credentials) {
      return { ...base, auth: 'secret', secretArn: credentials.secretArn, statements: secretStatements(credentials) };
    }
    const ecr = ref && privateEcrRegistry(ref.registry);
    if (ref && ecr) {
      const repositoryArn = Stack.of(scope).formatArn({
        service: 'ecr', region: ecr.region, account: ecr.account, resource: 'repository', resourceName: ref.repository,
      });
      return { ...base, auth: 'ecr', ecrRegion: ecr.region, statements: ecrPullStatements(repositoryArn) };
    }
    return { ...base, auth: 'anonymous', statements: [] };
  }

  public _rule(): string {
    return 'must be a valid registry image';
  }
}

/** `secretsmanager:GetSecretValue` on `secret` only (and decryption with its key, when it has its own). */
function secretStatements(secret: secretsmanager.ISecret): iam.PolicyStatement[] {
  // A secret known by name only has a partial ARN: its full ARN ends with a suffix of six characters.
  const arn = secret.secretFullArn ?? `${secret.secretArn}-??????`;
  const statements = [new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [arn] })];
  if (secret.encryptionKey) {
    statements.push(new iam.PolicyStatement({
      actions: ['kms:Decrypt'],
      resources: [secret.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${secret.env.region}.${Stack.of(secret).urlSuffix}` } },
    }));
  }
  return statements;
}
