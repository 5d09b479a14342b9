/**
 * Content-addressed file assets of the catalog (texts and logos), staged straight into the cloud assembly and registered
 * with the stack's synthesizer. Lighter than an `s3_assets.Asset` per repository: no construct, no copy per use, one
 * hash per distinct content, so that hundreds of repositories sharing a logo or a text cost one asset.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Aws, FileAssetPackaging, Stack, Stage } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** Where a staged asset is, once bound into a stack. */
export interface StagedAsset {
  /** The bucket holding the object (the stack's asset bucket). */
  readonly bucketName: string;
  /** The object key: the content's sha256 and the extension, so that a changed content is a changed key. */
  readonly objectKey: string;
  /** `arn:<partition>:s3:::<bucket>/*`, for read grants (the bucket holds the stack's assets only). */
  readonly objectsArn: string;
}

/** sha256 of files read before, by path, size and modification time (a shared logo is hashed once). */
const fileHashes = new Map<string, string>();

/** Stages `content` (with `extension`, e.g. `.md`) as a file asset of `scope`'s stack. */
export function stageContentAsset(scope: IConstruct, content: Buffer, extension: string): StagedAsset {
  const hash = createHash('sha256').update(content).digest('hex');
  return register(scope, hash, extension, (file) => fs.writeFileSync(file, content));
}

/** Stages the file at `filePath` as a file asset of `scope`'s stack, under the hash of its content. */
export function stageFileAsset(scope: IConstruct, filePath: string): StagedAsset {
  const stat = fs.statSync(filePath);
  const cacheKey = `${path.resolve(filePath)}\0${stat.size}\0${stat.mtimeMs}`;
  let hash = fileHashes.get(cacheKey);
  if (hash === undefined) {
    hash = createHash('sha256').update(fs.readFileSync(filePath)).digest('hex');
    fileHashes.set(cacheKey, hash);
  }
  return register(scope, hash, path.extname(filePath).toLowerCase(), (file) => fs.copyFileSync(filePath, file));
}

function register(scope: IConstruct, hash: string, extension: string, write: (file: string) => void): StagedAsset {
  const stack = Stack.of(scope);
  const stage = Stage.of(stack);
  if (!stage) throw new Error(`${scope.node.path}: the stack is not in an App or Stage, so it has no cloud assembly for its assets`);
  const fileName = `asset.${hash}${extension}`;
  const absolute = path.join(stage.assetOutdir, fileName);
  // Content-addressed: a file already there has this content.
  if (!fs.existsSync(absolute)) {
    fs.mkdirSync(stage.assetOutdir, { recursive: true });
    write(absolute);
  }
  const location = stack.synthesizer.addFileAsset({
    sourceHash: hash,
    // Relative to the stack's own assembly directory, as the synthesizer expects (nested stages have their own).
    fileName: path.relative(stage.outdir, absolute),
    packaging: FileAssetPackaging.FILE,
  });
  return {
    bucketName: location.bucketName,
    objectKey: location.objectKey,
    objectsArn: `arn:${Aws.PARTITION}:s3:::${location.bucketName}/*`,
  };
}
