/**
 * Reading a cloud assembly (`cdk.out`) for the deployer: its stacks (nested stage assemblies included), their templates
 * and their file assets. The manifests are read here, as the cloud assembly schema defines them, rather than through
 * aws-cdk-lib's `cx-api`: a deploy reads a handful of fields, and loading cx-api (the schema, its validator and the
 * library's deprecation table) cost more than the rest of a deploy that changes nothing. Every path a manifest gives
 * is checked to lie inside the assembly (symbolic links followed) before it is opened; everything is parsed into
 * null-prototype data.
 */
import * as fs from 'fs';
import * as path from 'path';
import { dependencyOrder } from './graph';
import { ImageAsset, readImageAssets } from './image-assets/manifest';
import { parseJsonData } from './json-data';

/** A CloudFormation template, as far as the deployer reads it. */
export interface Template {
  readonly Resources?: Record<string, TemplateResource>;
  readonly Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  readonly Outputs?: Record<string, { Value?: unknown; Export?: { Name?: unknown }; Condition?: string }>;
}

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly Condition?: string;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** One destination of a file asset, placeholders (`${AWS::AccountId}`...) left in. */
export interface AssetDestination {
  readonly bucketName: string;
  readonly objectKey: string;
}

export interface FileAsset {
  readonly id: string;
  /** Absolute path of the asset's source (a file, or a directory for `zip` packaging). */
  readonly sourcePath: string;
  /** The path as the manifest gives it, for messages. */
  readonly manifestPath: string;
  readonly packaging: 'file' | 'zip';
  readonly destinations: AssetDestination[];
  /** Why the asset cannot be served, when it cannot (outside the assembly, missing, built by a command). */
  readonly problem?: string;
}

export interface AssemblyStack {
  /** The real path of the cloud assembly the stack is part of (of the top-level assembly, for a nested one). */
  readonly assemblyDir: string;
  /** Unique in the whole assembly: the artifact id, prefixed with the nested assembly's directory. */
  readonly key: string;
  readonly artifactId: string;
  readonly stackName: string;
  /** The construct path (`Stage/Stack`) or the artifact id. */
  readonly displayName: string;
  readonly templateFile: string;
  readonly template: Template;
  /** The stack's account and region, when the stack is not environment-agnostic. */
  readonly account?: string;
  readonly region?: string;
  /** Keys of the stacks this one depends on. */
  readonly dependencies: string[];
  readonly assets: FileAsset[];
  /** The logical id of each construct path of a resource (`Stack/Role/Resource`), as the assembly's metadata records them. */
  readonly logicalIds: ReadonlyMap<string, string>;
  /** The Docker image assets, built and published by `image-assets/`. */
  readonly imageAssets: ImageAsset[];
}

export interface CloudAssembly {
  /** The real path of the assembly directory: nothing outside it is ever served. */
  readonly dir: string;
  /** Every stack, in dependency order (a stack after those it depends on). */
  readonly stacks: AssemblyStack[];
}

/**
 * Reads the assembly in `dir`: its stack artifacts, nested stage assemblies, stack dependencies and asset manifests,
 * as the cloud assembly schema defines them.
 */
export function readCloudAssembly(dir: string): CloudAssembly {
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) {
    throw new Error(`'${dir}' is not a cloud assembly (no manifest.json): synthesize the app first (app.synth() or cdk synth)`);
  }
  const root = fs.realpathSync(dir);
  const stacks: AssemblyStack[] = [];
  readAssembly(root, openAssembly(root, root), '', stacks, new Set([root]));
  const byKey = new Map(stacks.map((s) => [s.key, s]));
  const order = dependencyOrder(stacks.map((s) => s.key), (key) => byKey.get(key)!.dependencies, 'stacks');
  return { dir: root, stacks: order.map((key) => byKey.get(key)!) };
}

/** The stacks `name` selects (a stack name, an artifact id or a display path), or all of them. */
export function selectStacks(assembly: CloudAssembly, name: string | undefined): AssemblyStack[] {
  if (assembly.stacks.length === 0) throw new Error(`The cloud assembly '${assembly.dir}' holds no stack`);
  if (name === undefined) return assembly.stacks;
  const found = assembly.stacks.filter((s) => s.stackName === name || s.artifactId === name || s.displayName === name);
  if (found.length === 0) {
    const names = assembly.stacks.map((s) => s.displayName === s.stackName ? s.stackName : `${s.stackName} (${s.displayName})`);
    throw new Error(`No stack '${name}' in the cloud assembly; it holds: ${names.join(', ')}`);
  }
  return found;
}

/** `text` with `${AWS::AccountId}`, `${AWS::Region}` and `${AWS::Partition}` filled in, as the CDK CLI does for assets. */
export function fillPlaceholders(text: string, account: string, region: string): string {
  return text.replace(/\$\{AWS::AccountId\}/g, account).replace(/\$\{AWS::Region\}/g, region).replace(/\$\{AWS::Partition\}/g, 'aws');
}

/** The artifact types the deployer reads (the cloud assembly schema's `ArtifactType`); any other is left alone. */
const STACK = 'aws:cloudformation:stack';
const NESTED_ASSEMBLY = 'cdk:cloud-assembly';
const ASSET_MANIFEST = 'cdk:asset-manifest';
/** What the CDK writes for an environment-agnostic stack's account and region. */
const UNKNOWN_ACCOUNT = 'unknown-account';
const UNKNOWN_REGION = 'unknown-region';
const LOGICAL_ID = 'aws:cdk:logicalId';

/** One artifact of a `manifest.json`, as far as the deployer reads it. */
interface ArtifactManifest {
  readonly type?: unknown;
  readonly environment?: unknown;
  readonly displayName?: unknown;
  readonly dependencies?: unknown;
  readonly properties?: Record<string, unknown>;
  readonly metadata?: Record<string, unknown>;
  readonly additionalMetadataFile?: unknown;
}

/** An assembly directory (a real path inside the root) and its artifacts, by id. */
interface AssemblyManifest {
  readonly dir: string;
  readonly artifacts: ReadonlyMap<string, ArtifactManifest>;
}

/** The manifest of the assembly whose directory is `dir` (a real path inside `root`). */
function openAssembly(root: string, dir: string): AssemblyManifest {
  const manifestFile = inside(root, path.join(dir, 'manifest.json'));
  if (!manifestFile) throw new Error(`The manifest.json of '${dir}' lies outside the cloud assembly '${root}'`);
  const manifest = readJson(manifestFile) as { artifacts?: Record<string, ArtifactManifest | null> } | null;
  const artifacts = new Map<string, ArtifactManifest>();
  for (const [id, artifact] of Object.entries(manifest?.artifacts ?? {})) {
    if (artifact !== null && typeof artifact === 'object') artifacts.set(id, artifact);
  }
  return { dir, artifacts };
}

/**
 * The stacks of `assembly` and of the assemblies nested in it, into `out`, keyed `prefix` + artifact id. Its schema
 * version is not checked (an assembly written by a newer CDK than this reader still names its stacks and assets the
 * same way), nor is its artifact order: `graph.ts` orders. `read` holds the assemblies read so far: one nested in itself,
 * or in one it contains, is refused rather than read again and again.
 */
function readAssembly(root: string, assembly: AssemblyManifest, prefix: string, out: AssemblyStack[], read: Set<string>): void {
  for (const [id, artifact] of assembly.artifacts) {
    const properties = artifact.properties ?? {};
    if (artifact.type === NESTED_ASSEMBLY) {
      const nested = inside(root, path.join(assembly.dir, String(properties.directoryName ?? '')));
      if (!nested) throw new Error(`The nested assembly '${id}' lies outside the cloud assembly '${root}'`);
      if (read.has(nested)) throw new Error(`The nested assembly '${id}' is an assembly already read ('${nested}'): an assembly cannot contain itself`);
      read.add(nested);
      readAssembly(root, openAssembly(root, nested), `${path.relative(root, nested)}/`, out, read);
      continue;
    }
    if (artifact.type !== STACK) continue;
    const templateFile = assemblyFile(root, assembly.dir, properties.templateFile, `The template of stack '${id}'`);
    const { account, region } = stackEnvironment(id, artifact.environment);
    const deps = dependencies(assembly, id, artifact);
    const manifests = assetManifests(root, assembly.dir, id, deps.filter(([, d]) => d.type === ASSET_MANIFEST).map(([, d]) => path.join(assembly.dir, String(d.properties?.file ?? ''))));
    out.push({
      assemblyDir: root,
      key: `${prefix}${id}`,
      artifactId: id,
      stackName: typeof properties.stackName === 'string' && properties.stackName !== '' ? properties.stackName : id,
      // The construct path (the CDK's `hierarchicalId`).
      displayName: typeof artifact.displayName === 'string' ? artifact.displayName : id,
      templateFile,
      template: readJson(templateFile) as Template,
      account: account === UNKNOWN_ACCOUNT ? undefined : account,
      region: region === UNKNOWN_REGION ? undefined : region,
      dependencies: deps.filter(([, d]) => d.type === STACK).map(([depId]) => `${prefix}${depId}`),
      assets: readAssets(root, assembly.dir, manifests),
      imageAssets: readImageAssets(root, assembly.dir, manifests),
      logicalIds: logicalIds(root, assembly.dir, id, artifact),
    });
  }
}

/** The account and region of a stack's `aws://<account>/<region>` environment. */
function stackEnvironment(id: string, environment: unknown): { account: string; region: string } {
  const m = typeof environment === 'string' ? /^aws:\/\/([^/]+)\/([^/]+)$/.exec(environment) : null;
  if (!m) throw new Error(`Stack '${id}' has no environment of the form aws://<account>/<region> (${JSON.stringify(environment ?? null)})`);
  return { account: m[1], region: m[2] };
}

/** The artifacts `artifact` depends on, each of the same assembly. */
function dependencies(assembly: AssemblyManifest, id: string, artifact: ArtifactManifest): Array<[string, ArtifactManifest]> {
  const ids = Array.isArray(artifact.dependencies) ? artifact.dependencies : [];
  return ids.map((dep) => {
    const found = typeof dep === 'string' ? assembly.artifacts.get(dep) : undefined;
    if (!found) throw new Error(`Artifact ${id} depends on non-existing artifact ${String(dep)}`);
    return [dep as string, found];
  });
}

/**
 * The logical id of each construct path of a resource (`Stack/Role/Resource`), from the artifact's metadata: the
 * manifest's own, and its `additionalMetadataFile` (where newer CDK versions write it), checked to lie inside the
 * assembly.
 */
function logicalIds(root: string, dir: string, id: string, artifact: ArtifactManifest): Map<string, string> {
  const sources = [artifact.metadata ?? {}];
  const file = artifact.additionalMetadataFile;
  if (file !== undefined) {
    const full = typeof file === 'string' ? inside(root, path.join(dir, file)) : undefined;
    if (!full) throw new Error(`The metadata file of artifact '${id}' lies outside the cloud assembly '${root}'`);
    sources.push((readJson(full) ?? {}) as Record<string, unknown>);
  }
  const ids = new Map<string, string>();
  for (const metadata of sources) {
    for (const [constructPath, entries] of Object.entries(metadata)) {
      for (const entry of Array.isArray(entries) ? entries : []) {
        if (entry?.type === LOGICAL_ID && typeof entry.data === 'string') ids.set(constructPath.replace(/^\//, ''), entry.data);
      }
    }
  }
  return ids;
}

/**
 * The asset manifests of a stack (paths joined onto the assembly directory `dir`), or `<artifact id>.assets.json` when none
 * is listed: those that exist, as real paths inside the assembly.
 */
function assetManifests(root: string, dir: string, stackId: string, manifestFiles: string[]): string[] {
  const files = manifestFiles.length > 0 ? manifestFiles : [path.join(dir, `${stackId}.assets.json`)];
  return files.filter((given) => fs.existsSync(given)).map((given) => {
    const full = inside(root, given);
    if (!full) throw new Error(`The asset manifest '${path.relative(dir, given)}' of stack '${stackId}' lies outside the cloud assembly '${root}'`);
    return full;
  });
}

/** The file assets of the asset manifests `files`. */
function readAssets(root: string, dir: string, files: string[]): FileAsset[] {
  const assets: FileAsset[] = [];
  for (const full of files) {
    const manifest = readJson(full) as { files?: Record<string, any> };
    for (const [id, entry] of Object.entries(manifest.files ?? {})) {
      const source = entry.source ?? {};
      const manifestPath = String(source.path ?? '');
      const sourcePath = path.resolve(dir, manifestPath);
      const destinations: AssetDestination[] = Object.values(entry.destinations ?? {}).map((d: any) => ({
        bucketName: String(d.bucketName), objectKey: String(d.objectKey),
      }));
      let problem: string | undefined;
      if (source.executable) problem = 'it is built by a command, which the local deployer does not run';
      else if (!source.path) problem = 'it has no source path';
      else if (!fs.existsSync(sourcePath)) problem = `its source '${manifestPath}' does not exist`;
      else if (!inside(root, sourcePath)) problem = `its source '${manifestPath}' lies outside the cloud assembly`;
      assets.push({
        id,
        sourcePath: problem ? sourcePath : fs.realpathSync(sourcePath),
        manifestPath,
        packaging: source.packaging === 'zip' ? 'zip' : 'file',
        destinations,
        problem,
      });
    }
  }
  return assets;
}

/** The real path of the file `given` (relative to `dir`) names inside the assembly; an error naming `what` when it is not. */
function assemblyFile(root: string, dir: string, given: unknown, what: string): string {
  if (typeof given !== 'string' || given === '') throw new Error(`${what} is not named in its manifest`);
  const full = path.join(dir, given);
  if (!fs.existsSync(full)) throw new Error(`${what} ('${given}') does not exist`);
  const real = inside(root, full);
  if (!real) throw new Error(`${what} lies outside the cloud assembly '${root}'`);
  if (!fs.statSync(real).isFile()) throw new Error(`${what} ('${given}') is not a file`);
  return real;
}

/** The real path of `p` when it is `root` or inside it, else undefined (symbolic links followed). */
export function inside(root: string, p: string): string | undefined {
  if (!fs.existsSync(p)) return undefined;
  const real = fs.realpathSync(p);
  return real === root || real.startsWith(root + path.sep) ? real : undefined;
}

function readJson(file: string): unknown {
  try {
    return parseJsonData(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`Cannot read '${file}': ${err instanceof Error ? err.message : String(err)}`);
  }
}
