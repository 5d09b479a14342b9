/** What an `ImageSource` gives the `PublicImage` it is bound to (internal: not part of the jsii API). */
import { aws_iam as iam } from 'aws-cdk-lib';
import { ArtifactFile } from '../shared/oci/artifact';
import { PublishPlan, SourceAuth } from '../shared/publish-plan';

/** An image archive read at synth time: the staged tar, shipped as an S3 asset, and the plan to publish it. */
export interface ArchiveBinding {
  readonly kind: 'archive';
  /** The uncompressed tar uploaded as the deploy asset. */
  readonly archivePath: string;
  /** Where each blob is in `archivePath`, and the manifests. */
  readonly plan: PublishPlan;
}

/** An image in a registry, copied at deploy through the registry pull API. */
export interface RegistryBinding {
  readonly kind: 'registry';
  /** `registry/repository[:tag][@digest]`; may be a token (the URI of a Docker image asset). */
  readonly reference: string;
  readonly auth: SourceAuth;
  /** The secret holding the credentials ('secret' auth). */
  readonly secretArn?: string;
  /** The Region of the private ECR registry ('ecr' auth). */
  readonly ecrRegion?: string;
  /** `os/architecture[/variant]` to copy one platform only. */
  readonly platform?: string;
  /** What the handler needs to pull, added to the resource's own policy. */
  readonly statements: iam.PolicyStatement[];
}

export type ImageSourceBinding = ArchiveBinding | RegistryBinding;

/** What the `PublicImage` asks of the source it binds. */
export interface BindOptions {
  /** `PublicImageProps.includeReferrers`. @default true */
  readonly includeReferrers?: boolean;
}

/** An artifact checked at synth: what its manifest says of its file, and where the file is. */
export interface BoundArtifact extends ArtifactFile {
  /** The file's real path. */
  readonly path: string;
}
