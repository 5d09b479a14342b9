/**
 * Bad image-publisher properties and plans, and corrupt staged archives, refused at deploy by the publisher. Each
 * case is refused with its cause and changes nothing (`expectRefusedAndUnchanged` in world.ts).
 */
import { BadInput, corruptCopy, describeBadInputs, flip, ownRepository, planWith, publishFailure, re, setUpWorld, v1, v2, v2Config, v2Layer, v2Props } from './world';
import { sha256 } from '../../../src/shared/oci/digest';
import { BUCKET, imageProps } from '../../image-publisher/support';
setUpWorld({ images: true });

const CATALOGUE: Array<[string, BadInput]> = [
  // --- The image publisher's properties and plan, at deploy ------------------------------------------------------
  ['deploy: an image into a repository that does not exist', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ RepositoryName: 'rel/nowhere' })),
    cause: /^RepositoryNotFoundException: .*The image is published into an existing repository: create 'rel\/nowhere' first\./,
  }],
  ['deploy: an image tag of 301 characters', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ Tags: ['stable', 't'.repeat(301)] })),
    cause: /^ImagePublishError: each tag must be a string of 1 to 300 characters/,
  }],
  ['deploy: an empty image tag', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ Tags: ['stable', ''] })),
    cause: /^ImagePublishError: each tag must be a string of 1 to 300 characters \(got ""\)/,
  }],
  ['deploy: a Concurrency of 0', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ Concurrency: '0' })),
    cause: /^ImagePublishError: Concurrency must be an integer from 1 to 32 \(got "0"\)/,
  }],
  ['deploy: CompressLayers neither true nor false', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ CompressLayers: 'yes' })),
    cause: /^ImagePublishError: CompressLayers must be 'true' or 'false' \(got "yes"\)/,
  }],
  ['deploy: DeleteOnRemove neither true nor false', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ DeleteOnRemove: 'maybe' })),
    cause: /^ImagePublishError: DeleteOnRemove must be 'true' or 'false' \(got "maybe"\)/,
  }],
  ['deploy: a plan that is not JSON', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ Plan: '{"version": 1, "blobs": [' })),
    cause: /^ImagePublishError: Plan is not valid JSON/,
  }],
  ['deploy: a plan whose manifest text does not match its digest', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ Plan: planWith((p) => { p.manifests[0].manifest = p.manifests[0].manifest.replace('"schemaVersion":2', '"schemaVersion":3'); }) })),
    cause: () => new RegExp(`^ImagePublishError: Plan: manifests\\[0\\] is digested ${v2.source.root.digest} but its text hashes to sha256:`),
  }],
  ['deploy: a SourceDigest that is not the plan\'s root', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ SourceDigest: v1.source.root.digest })),
    cause: () => new RegExp(`^ImagePublishError: SourceDigest ${v1.source.root.digest} is not the plan's root digest ${v2.source.root.digest}`),
  }],
  ['deploy: a manifest referring to a blob the plan does not have', {
    at: 'deploy',
    act: () => publishFailure(v2Props({ Plan: planWith((p) => { p.blobs = p.blobs.filter((b: any) => b.digest !== v2Layer().digest); }) })),
    cause: () => new RegExp(`^ImagePublishError: the plan's manifests refer to blob ${v2Layer().digest}, which is not among the plan's blobs`),
  }],
  ['deploy: an archive key that names no object', ownRepository(
    (name) => imageProps(v2.staged, name, { Tags: ['stable'], ArchiveKey: 'no-such-archive.tar' }),
    () => /^NoSuchKey: reading bytes \d+-\d+ of s3:\/\/assets\/no-such-archive\.tar/,
  )],
  ['deploy: a plan blob that lies beyond the end of the archive', ownRepository(
    (name) => imageProps(v2.staged, name, { Tags: ['stable'], Plan: planWith((p) => { p.blobs.find((b: any) => b.digest === v2Layer().digest).offset = 50 * 1024 * 1024; }) }),
    () => new RegExp(`reading bytes ${50 * 1024 * 1024}-\\d+ of s3://${BUCKET}/${re(v2.staged.key)}`),
  )],
  ['deploy: a plan blob offset pointing at other bytes of the archive', ownRepository(
    (name) => imageProps(v2.staged, name, { Tags: ['stable'], Plan: planWith((p) => { p.blobs.find((b: any) => b.digest === v2Layer().digest).offset = 0; }) }),
    () => new RegExp(`^ImagePublishError: blob ${v2Layer().digest} in ${re(v2.staged.key)} does not match its digest \\(got sha256:[0-9a-f]{64}\\)`),
  )],
  ['deploy: a layer whose bytes in the staged archive do not match its digest (no tag moves)', ownRepository(
    (name) => corruptCopy('corrupt-layer.tar', name, (bytes) => flip(bytes, v2Layer().offset + 100)),
    () => new RegExp(`^ImagePublishError: blob ${v2Layer().digest} in corrupt-layer\\.tar does not match its digest \\(got sha256:[0-9a-f]{64}\\)`),
  )],
  ['deploy: a config whose bytes in the staged archive do not match its digest', ownRepository(
    (name) => corruptCopy('corrupt-config.tar', name, (bytes) => flip(bytes, v2Config().offset + 2)),
    () => new RegExp(`^ImagePublishError: blob ${v2Config().digest} in corrupt-config\\.tar does not match its digest`),
  )],
  ['deploy: a manifest of an unknown media type', ownRepository(
    (name) => {
      const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example.thing+json', config: v2Config(), layers: [] });
      const digest = sha256(manifest);
      return imageProps(v2.staged, name, {
        Tags: ['stable'],
        Plan: planWith((p) => { p.manifests = [{ digest, mediaType: 'application/vnd.example.thing+json', manifest }]; p.rootDigest = digest; }),
        SourceDigest: digest,
      });
    },
    () => /^InvalidParameterException: PutImage of manifest sha256:[0-9a-f]{64} with tag 'stable': Invalid parameter at 'imageManifestMediaType' .*\(got 'application\/vnd\.example\.thing\+json'\)/,
  )],
];

describeBadInputs('at deploy, by the image publisher', CATALOGUE, 16);
