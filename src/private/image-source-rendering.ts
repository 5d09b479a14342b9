/**
 * What each kind of image source puts into its `Custom::EcrPublicImage`: its properties, and the statements its
 * handler needs (on the handler's role, or on the resource's own policy). One renderer per kind of
 * {@link ImageSourceBinding}, so that the `PublicImage` construct does not branch on the kind.
 */
import { createHash } from 'crypto';
import { AssetHashType, aws_iam as iam, aws_s3_assets as s3assets } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { allowAssetObjects } from './handler-function';
import { ArchiveBinding, ImageSourceBinding, RegistryBinding } from './image-binding';
import { invalid } from './validation';
import { ImageProperties } from '../shared/publish-plan';

/** The properties of the image resource that say where its image comes from. */
export type SourceProperties = Omit<ImageProperties, 'RepositoryName' | 'Tags' | 'Concurrency' | 'DeleteOnRemove'>;

/** A source, rendered into the image resource. */
export interface RenderedSource {
  readonly properties: SourceProperties;
  /** Statements for the handler's role. */
  readonly roleStatements: iam.PolicyStatement[];
  /** Statements for the resource's own policy. */
  readonly resourceStatements: iam.PolicyStatement[];
  /** The root digest, when it is known at synth. @default - known at deploy only */
  readonly sourceDigest?: string;
}

/** The options of `PublicImage` that a source reads. */
export interface SourceRenderOptions {
  /** `PublicImageProps.compressLayers`. @default - the source's default */
  readonly compressLayers?: boolean;
  /** `PublicImageProps.includeReferrers`. @default true */
  readonly includeReferrers?: boolean;
}

/** Renders `binding`, bound in `scope` (the `PublicImage`). */
export function renderSource(scope: Construct, binding: ImageSourceBinding, options: SourceRenderOptions): RenderedSource {
  return binding.kind === 'archive' ? renderArchive(scope, binding, options) : renderRegistry(scope, binding, options);
}

/** An archive read at synth: staged as an S3 asset, which the handler reads with ranged GetObjects. */
function renderArchive(scope: Construct, binding: ArchiveBinding, options: SourceRenderOptions): RenderedSource {
  const { archivePath, plan } = binding;
  // The plan identifies the content: hashing it avoids reading a multi-GiB archive just to name the asset.
  const asset = new s3assets.Asset(scope, 'Archive', {
    path: archivePath,
    assetHashType: AssetHashType.CUSTOM,
    assetHash: createHash('sha256').update(JSON.stringify(plan)).digest('hex'),
  });
  return {
    properties: {
      ArchiveBucket: asset.s3BucketName,
      ArchiveKey: asset.s3ObjectKey,
      Plan: JSON.stringify(plan),
      SourceDigest: plan.rootDigest,
      CompressLayers: String(options.compressLayers ?? true),
    },
    roleStatements: [allowAssetObjects(asset.bucket.arnForObjects('*'))],
    resourceStatements: [],
    sourceDigest: plan.rootDigest,
  };
}

/** An image in a registry, copied byte for byte at deploy, with the pull permissions its binding names. */
function renderRegistry(scope: Construct, binding: RegistryBinding, options: SourceRenderOptions): RenderedSource {
  if (options.compressLayers === true) {
    invalid(scope, 'compressLayers', 'applies to archive sources only: images from a registry or a Dockerfile are copied byte for byte');
  }
  return {
    properties: {
      SourceImage: binding.reference,
      SourceAuth: binding.auth,
      SourceSecretArn: binding.secretArn,
      SourceEcrRegion: binding.ecrRegion,
      SourcePlatform: binding.platform,
      // Left out when true, so that the properties of a resource from before referrers were published stay as they were.
      IncludeReferrers: options.includeReferrers === false ? 'false' : undefined,
      CompressLayers: 'false',
    },
    roleStatements: [],
    resourceStatements: [...binding.statements],
  };
}
