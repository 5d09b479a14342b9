/**
 * The Docker image assets of a stack, read from its asset manifests (`dockerImages`) as cdk-assets reads them: the
 * build directory and options of each, and where it is pushed (repository and tag, placeholders left in). The manifest
 * is data from the assembly: every member is checked for its type, and every path must lie inside the assembly.
 */
import * as fs from 'fs';
import * as path from 'path';
import { dict } from '../../dictionary';
import { inside } from '../assembly';
import { parseJsonData } from '../json-data';

/** A Docker cache option as the manifest gives it: `type` and its parameters (`--cache-from type=registry,ref=...`). */
export interface CacheOption {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
}

/** What a build is given, as cdk-assets passes it to `docker build`. */
export interface ImageBuild {
  /** The build context: the real path of the asset's directory. */
  readonly directory: string;
  /** The Dockerfile, relative to the directory. @default 'Dockerfile' */
  readonly dockerFile?: string;
  /** The stage to build. @default - the last stage */
  readonly target?: string;
  readonly buildArgs: ReadonlyMap<string, string>;
  /** Secret id to its `src=...`/`env=...` spec. */
  readonly buildSecrets: ReadonlyMap<string, string>;
  readonly buildContexts: ReadonlyMap<string, string>;
  /** `--ssh`'s value. @default - no SSH agent or keys */
  readonly buildSsh?: string;
  /** `--network`'s value. @default - the engine's default network */
  readonly networkMode?: string;
  /** `--platform`'s value (`linux/arm64`). @default - the engine's platform */
  readonly platform?: string;
  readonly outputs: readonly string[];
  readonly cacheFrom: readonly CacheOption[];
  /** Where the build writes its cache. @default - nowhere */
  readonly cacheTo?: CacheOption;
  readonly cacheDisabled: boolean;
}

/** One destination: the repository and tag, with `${AWS::AccountId}` and `${AWS::Region}` left in. */
export interface ImageDestination {
  readonly repositoryName: string;
  readonly imageTag: string;
}

export interface ImageAsset {
  readonly id: string;
  /** How it is built. @default - not built (see `problem`) */
  readonly build?: ImageBuild;
  readonly destinations: readonly ImageDestination[];
  /** Why the asset cannot be built here. @default - it can be */
  readonly problem?: string;
}

/** The Docker image assets of the manifests `files` (real paths inside `root`). */
export function readImageAssets(root: string, dir: string, files: readonly string[]): ImageAsset[] {
  const assets: ImageAsset[] = [];
  for (const file of files) {
    try {
      assets.push(...readManifest(root, dir, file));
    } catch (err) {
      throw new Error(`Cannot read the Docker image assets of '${path.relative(root, file)}': ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return assets;
}

/** The Docker image assets of one manifest. */
function readManifest(root: string, dir: string, file: string): ImageAsset[] {
  const manifest = parseJsonData(fs.readFileSync(file, 'utf8')) as { dockerImages?: unknown };
  return Object.entries(record(manifest.dockerImages, 'dockerImages')).map(([id, entry]) => {
    const where = `dockerImages.${id}`;
    const { source, destinations } = record(entry, where);
    const dests = Object.entries(record(destinations, `${where}.destinations`)).map(([key, d]) => {
      const dest = record(d, `${where}.destinations.${key}`);
      const repositoryName = text(dest.repositoryName, `${where}.destinations.${key}.repositoryName`);
      const imageTag = text(dest.imageTag, `${where}.destinations.${key}.imageTag`);
      if (repositoryName === undefined || imageTag === undefined) throw new Error(`${where}.destinations.${key} needs a repositoryName and an imageTag`);
      return { repositoryName, imageTag };
    });
    try {
      return { id, build: readBuild(root, dir, record(source, `${where}.source`), `${where}.source`), destinations: dests };
    } catch (err) {
      if (!(err instanceof NotBuildable)) throw err;
      return { id, destinations: dests, problem: err.message };
    }
  });
}

/** An asset the deployer cannot build (its directory missing or outside the assembly, or built by a command). */
class NotBuildable extends Error {}

function readBuild(root: string, dir: string, source: Record<string, unknown>, where: string): ImageBuild {
  if (source.executable !== undefined) throw new NotBuildable('it is built by a command, which the local deployer does not run');
  const given = text(source.directory, `${where}.directory`);
  if (given === undefined) throw new NotBuildable('it has no build directory');
  const full = path.resolve(dir, given);
  if (!fs.existsSync(full)) throw new NotBuildable(`its directory '${given}' does not exist`);
  const directory = inside(root, full);
  if (!directory || !fs.statSync(directory).isDirectory()) throw new NotBuildable(`its directory '${given}' is not a directory inside the cloud assembly`);
  const dockerFile = text(source.dockerFile, `${where}.dockerFile`);
  if (dockerFile !== undefined && !inside(root, path.resolve(directory, dockerFile))) {
    throw new NotBuildable(`its Dockerfile '${dockerFile}' does not exist inside the cloud assembly`);
  }
  const cacheTo = source.cacheTo === undefined ? undefined : cacheOption(source.cacheTo, `${where}.cacheTo`);
  return {
    directory,
    dockerFile,
    target: text(source.dockerBuildTarget, `${where}.dockerBuildTarget`),
    buildArgs: strings(source.dockerBuildArgs, `${where}.dockerBuildArgs`),
    buildSecrets: strings(source.dockerBuildSecrets, `${where}.dockerBuildSecrets`),
    buildContexts: strings(source.dockerBuildContexts, `${where}.dockerBuildContexts`),
    buildSsh: text(source.dockerBuildSsh, `${where}.dockerBuildSsh`),
    networkMode: text(source.networkMode, `${where}.networkMode`),
    platform: text(source.platform, `${where}.platform`),
    outputs: list(source.dockerOutputs, `${where}.dockerOutputs`),
    cacheFrom: source.cacheFrom === undefined ? []
      : listOf(source.cacheFrom, `${where}.cacheFrom`).map((c, i) => cacheOption(c, `${where}.cacheFrom[${i}]`)),
    cacheTo,
    cacheDisabled: source.cacheDisabled === true,
  };
}

function cacheOption(value: unknown, where: string): CacheOption {
  const option = record(value, where);
  return { type: text(option.type, `${where}.type`) ?? '', params: strings(option.params, `${where}.params`) };
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined) return dict();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where} is not an object`);
  return dict(value as Record<string, unknown>);
}

function text(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new Error(`${where} is not a string`);
  return value;
}

function strings(value: unknown, where: string): Map<string, string> {
  return new Map(Object.entries(record(value, where)).map(([k, v]) => [k, text(v, `${where}.${k}`)!]));
}

function listOf(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${where} is not a list`);
  return value;
}

function list(value: unknown, where: string): string[] {
  return value === undefined ? [] : listOf(value, where).map((v, i) => text(v, `${where}[${i}]`)!);
}
