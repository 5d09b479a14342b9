import {
  Duration, RemovalPolicy, Size, Token, aws_lambda as lambda,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { HandlerRuntimeOptions } from './handler-runtime';
import { ImageArtifact } from './image-artifact';
import { ImageSource } from './image-source';
import { recordPublishedTags } from './lifecycle/published-tags';
import { renderArtifacts } from './private/artifact-rendering';
import { IMAGE_PUBLISHER_ACTIONS } from './private/ecr-public-actions';
import { allowOnAnyRepository, handlerResource } from './private/handler-function';
import { pinnedHandlerRuntime } from './private/handler-runtime';
import { ImageSourceBinding } from './private/image-binding';
import { renderSource } from './private/image-source-rendering';
import { invalid } from './private/validation';
import type { IPublicRepository } from './public-repository';
import { HANDLER_KINDS, RESOURCE_TYPES } from './shared/handler-contract';
import { TAG_PATTERN } from './shared/image-reference';
import { ImageProperties } from './shared/publish-plan';

/** Properties of a {@link PublicImage}. */
export interface PublicImageProps extends HandlerRuntimeOptions {
  /** The repository to publish into. */
  readonly repository: IPublicRepository;

  /**
   * The image: `ImageSource.fromTarball(...)`, `fromOciLayout(...)`, `fromDirectory(...)`, `fromDockerImageAsset(...)`
   * or `fromRegistry(...)`.
   */
  readonly source: ImageSource;

  /**
   * Tags to point at the image, applied once the whole image is in place.
   * @default - the image is published by digest only
   */
  readonly tags?: string[];

  /**
   * Publish the image's referrers with it (OCI 1.1: SBOMs, provenance, signatures and other artifacts whose `subject`
   * is the image or, for an index, one of its manifests), after the image and before its tags move: for an OCI layout
   * or archive, the manifests its `index.json` lists with such a subject (as `oras attach --oci-layout` writes them);
   * for a registry source, what the source registry's referrers API lists (or its `sha256-<hex>` referrers tag).
   * Referrers of referrers (a signature of an SBOM) come along too.
   * @default true
   */
  readonly includeReferrers?: boolean;

  /**
   * Files to attach to the published image as OCI 1.1 artifacts (`ImageArtifact.fromFile(...)`): SBOMs, provenance
   * statements. Each becomes a manifest whose `subject` is the image as published, pushed with its referrers, before
   * its tags move; deleted with the image (`removalPolicy: DESTROY`).
   * @default - none
   */
  readonly artifacts?: ImageArtifact[];

  /**
   * gzip-compress uncompressed layers (as `docker save` writes them) before publishing: smaller pulls. Compression is
   * deterministic, so the same input gives the same digests on every deploy with the same Node.js zlib (a Lambda
   * runtime whose zlib compresses differently gives new digests, and the image is published again). Archive sources
   * only: images from a registry or built from a Dockerfile are copied byte for byte (same digests as their source).
   * @default true for archive sources
   */
  readonly compressLayers?: boolean;

  /**
   * How many blobs upload at once.
   * @default 4
   */
  readonly concurrency?: number;

  /**
   * What happens to the image when this resource is deleted: `DESTROY` deletes the image it pushed (by digest) unless
   * a tag it does not own points at it.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Memory of the publishing function, in MiB (it streams: memory bounds speed, not image size).
   * @default 1024
   */
  readonly memorySize?: number;

  /**
   * Timeout of the publishing function.
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;

  /**
   * How long the publish may take, over as many runs of the publishing function as it needs (each run hands what is
   * left over to the next before its `timeout`): the custom resource's service timeout, after which CloudFormation
   * fails the resource. The publisher answers FAILED, saying what was done and what is left, shortly before it ends.
   * From 1 second to 1 hour (CloudFormation's maximum), in whole seconds.
   * @default Duration.hours(1)
   */
  readonly publishTimeout?: Duration;

  /**
   * Ephemeral storage of the publishing function. Only layers compressed at deploy are written there, between
   * compressing and uploading; a layer that does not fit is compressed a second time to upload instead.
   * @default - Lambda's default, 512 MiB
   */
  readonly ephemeralStorageSize?: Size;

  /**
   * Architecture of the publishing function.
   * @default lambda.Architecture.X86_64
   */
  readonly architecture?: lambda.Architecture;
}

/**
 * A container image published into a public repository at deploy time, without Docker in the Lambda: an archive ships
 * as an S3 asset; an image built from a Dockerfile, or held by another registry, is read through the registry pull
 * API. A Lambda function pushes it with the ECR Public layered upload (only the blobs the repository lacks, several at
 * once, tags last).
 */
export class PublicImage extends Construct {
  /**
   * The digest of the published image (of its index, for a multi-platform image).
   * @attribute
   */
  public readonly imageDigest: string;

  /**
   * The image's URI by digest: `<repositoryUri>@<imageDigest>`.
   * @attribute
   */
  public readonly imageUri: string;

  /**
   * The digest of the source's root manifest. For an archive source it is known at synth time; for a registry source
   * (`fromRegistry`, `fromDirectory`, `fromDockerImageAsset`) it is a deploy-time value: what the reference resolved to
   * when the image was copied.
   * @attribute
   */
  public readonly sourceDigest: string;

  /**
   * @param scope the construct this one is defined in
   * @param id the id of this construct, unique within `scope`
   * @param props the PublicImageProps
   */
  constructor(scope: Construct, id: string, props: PublicImageProps) {
    super(scope, id);
    const { tags, concurrency, memorySize, publishTimeout } = checkImageProps(this, props);

    let binding: ImageSourceBinding;
    try {
      binding = props.source._bind(this, { includeReferrers: props.includeReferrers });
    } catch (err) {
      invalid(this, 'source', `${props.source._rule()}: ${(err as Error).message}`);
    }

    const artifacts = renderArtifacts(this, props.artifacts ?? []);
    recordPublishedTags(props.repository, this, tags);
    const source = renderSource(this, binding, { compressLayers: props.compressLayers, includeReferrers: props.includeReferrers });
    const properties: ImageProperties = {
      RepositoryName: props.repository.repositoryName,
      Tags: tags.length > 0 ? tags : undefined,
      Concurrency: String(concurrency),
      DeleteOnRemove: String((props.removalPolicy ?? RemovalPolicy.RETAIN) === RemovalPolicy.DESTROY),
      // Only when chosen: the templates of stacks that do not choose stay as they were (no update of their images).
      ...(publishTimeout !== undefined ? { PublishTimeout: String(publishTimeout.toSeconds()) } : {}),
      ...source.properties,
      ...artifacts.properties,
    };
    const roleStatements = [allowOnAnyRepository(this, IMAGE_PUBLISHER_ACTIONS), ...source.roleStatements, ...artifacts.roleStatements];
    const resourceStatements = source.resourceStatements;

    const resource = handlerResource(this, {
      kind: HANDLER_KINDS.image,
      resourceType: RESOURCE_TYPES.image,
      properties,
      functionOptions: {
        memorySize,
        timeout: props.timeout ?? Duration.minutes(15),
        ephemeralStorageSize: props.ephemeralStorageSize,
        architecture: props.architecture,
        runtime: pinnedHandlerRuntime(this, props.handlerRuntime),
      },
      roleStatements,
      resourceStatements,
      serviceTimeout: publishTimeout,
      invokesItself: true,
    });
    this.sourceDigest = source.sourceDigest ?? resource.getAttString('SourceDigest');
    this.imageDigest = resource.getAttString('ImageDigest');
    this.imageUri = resource.getAttString('ImageUri');
  }
}

/** CloudFormation's largest `ServiceTimeout` of a custom resource. */
const MAX_SERVICE_TIMEOUT_SECONDS = 3600;

/** The props `PublicImage` checks itself, with their defaults: each refused with the rule it breaks. */
function checkImageProps(
  scope: Construct, props: PublicImageProps,
): { tags: string[]; concurrency: number; memorySize: number; publishTimeout?: Duration } {
  const tags = props.tags ?? [];
  tags.forEach((tag, i) => {
    if (!Token.isUnresolved(tag) && !TAG_PATTERN.test(tag)) {
      invalid(scope, `tags[${i}]`, `must match ${TAG_PATTERN.source.slice(1, -1)}`, JSON.stringify(tag));
    }
  });
  if (new Set(tags).size !== tags.length) invalid(scope, 'tags', 'must not repeat a tag', JSON.stringify(tags));
  const concurrency = props.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
    invalid(scope, 'concurrency', 'must be an integer from 1 to 32', String(concurrency));
  }
  // The request bodies (14 MB each with 10 MiB parts) are shared by all the blobs in flight: at least two (a part in
  // flight and the next one), more only as far as half the memory above 160 MiB allows (the handler's sharedBodies).
  // Each blob adds a few MiB (its source stream, a compression block); the runtime ~100 MB, and the garbage of a fast
  // stream waiting for the collector. With two bodies the handler peaked at 210 MB with 4 blobs, the same with 16.
  const memorySize = props.memorySize ?? 1024;
  const neededMemory = 256 + 4 * concurrency;
  if (!Token.isUnresolved(memorySize) && memorySize < neededMemory) {
    invalid(scope, 'memorySize', `must be at least ${neededMemory} MiB for concurrency ${concurrency} (about 256 MiB, and 4 MiB per blob in flight)`, `${memorySize}`);
  }
  const publishTimeout = props.publishTimeout;
  if (publishTimeout !== undefined && !publishTimeout.isUnresolved()) {
    const ms = publishTimeout.toMilliseconds();
    if (ms % 1000 !== 0 || ms < 1000 || ms > MAX_SERVICE_TIMEOUT_SECONDS * 1000) {
      invalid(scope, 'publishTimeout', `must be whole seconds from 1 second to ${MAX_SERVICE_TIMEOUT_SECONDS / 3600} hour (CloudFormation's largest ServiceTimeout)`,
        publishTimeout.toHumanString());
    }
  }
  return { tags, concurrency, memorySize, publishTimeout };
}
