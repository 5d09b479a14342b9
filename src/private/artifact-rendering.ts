/**
 * The files attached to a `PublicImage` (`ImageArtifact`), rendered into its resource: checked, staged as one
 * deterministic uncompressed tar (`packLayout`, as a layout directory is) uploaded as an S3 asset, and an
 * `ArtifactsPlan` saying where each file is in it. A separate asset from the image's, so that it serves every kind
 * of image source alike.
 */
import { createHash } from 'crypto';
import { AssetHashType, aws_iam as iam, aws_s3_assets as s3assets } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { defaultStagingDir, packLayout } from './archive/layout-pack';
import { allowAssetObjects } from './handler-function';
import { invalid } from './validation';
import type { ImageArtifact } from '../image-artifact';
import { blobName } from '../shared/oci/digest';
import { ArtifactsPlan, ImageProperties } from '../shared/publish-plan';

/** The properties the artifacts give the image resource, and the statement reading their asset takes. */
export interface RenderedArtifacts {
  readonly properties: Pick<ImageProperties, 'ArtifactsBucket' | 'ArtifactsKey' | 'Artifacts'>;
  readonly roleStatements: iam.PolicyStatement[];
}

/** Renders `artifacts` (`PublicImageProps.artifacts`) for `scope`; nothing when there are none. */
export function renderArtifacts(scope: Construct, artifacts: readonly ImageArtifact[]): RenderedArtifacts {
  if (artifacts.length === 0) return { properties: {}, roleStatements: [] };
  const bound = artifacts.map((a, i) => a._bind(scope, `artifacts[${i}]`));
  const seen = new Map<string, number>();
  bound.forEach(({ path: _path, ...manifestInputs }, i) => {
    const key = JSON.stringify(manifestInputs);
    const first = seen.get(key);
    if (first !== undefined) invalid(scope, `artifacts[${i}]`, `must not repeat artifacts[${first}] (the same file, type and annotations)`);
    seen.set(key, i);
  });
  const files = [...new Map(bound.map((b) => [blobName(b.digest), { name: blobName(b.digest), size: b.size, path: b.path }])).values()];
  const packed = packLayout(files, new Map(bound.map((b) => [blobName(b.digest), b.digest])), defaultStagingDir());
  const plan: ArtifactsPlan = {
    version: 1,
    artifacts: bound.map(({ path: _path, ...artifact }) => ({ ...artifact, offset: packed.offsets.get(blobName(artifact.digest))! })),
  };
  const text = JSON.stringify(plan);
  const asset = new s3assets.Asset(scope, 'Artifacts', {
    path: packed.path,
    assetHashType: AssetHashType.CUSTOM,
    assetHash: createHash('sha256').update(text).digest('hex'),
  });
  return {
    properties: { ArtifactsBucket: asset.s3BucketName, ArtifactsKey: asset.s3ObjectKey, Artifacts: text },
    roleStatements: [allowAssetObjects(asset.bucket.arnForObjects('*'))],
  };
}
