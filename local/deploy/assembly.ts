/**
 * Reading a cloud assembly (`cdk.out`) for the deployer: its stacks (nested stage assemblies included), their templates
 * and their file assets, found with aws-cdk-lib's `cx-api` and read only from inside the assembly.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { dependencyOrder } from './graph';
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
}

export interface CloudAssembly {
  /** The real path of the assembly directory: nothing outside it is ever served. */
  readonly dir: string;
  /** Every stack, in dependency order (a stack after those it depends on). */
  readonly stacks: AssemblyStack[];
}

/**
 * Reads the assembly in `dir` with the CDK's own reader (`cx-api`): artifacts, nested stage assemblies, stack
 * dependencies and asset manifests as the CDK defines them. cx-api joins the paths a manifest gives onto the assembly
 * directory and reads what they name, so each one is checked to lie inside the assembly (symbolic links followed)
 * before cx-api or the deployer opens it. Templates and asset manifests are parsed here, into null-prototype data.
 */
export function readCloudAssembly(dir: string): CloudAssembly {
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) {
    throw new Error(`'${dir}' is not a cloud assembly (no manifest.json): synthesize the app first (app.synth() or cdk synth)`);
  }
  const root = fs.realpathSync(dir);
  const stacks: AssemblyStack[] = [];
  readAssembly(root, openAssembly(root, root), '', stacks);
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
  return String(cxapi.EnvironmentPlaceholders.replace(text, { accountId: account, region, partition: 'aws' }));
}

/**
 * The assembly whose directory is `dir` (a real path inside `root`). What cx-api reads as it opens an assembly is
 * checked first: its `manifest.json`, and (in newer aws-cdk-lib versions) each artifact's `additionalMetadataFile`.
 * Its schema version is not checked (an assembly written by a newer CDK than this reader still names its stacks and
 * assets the same way), nor is its artifact order: `graph.ts` orders.
 */
function openAssembly(root: string, dir: string): cxapi.CloudAssembly {
  const manifestFile = inside(root, path.join(dir, 'manifest.json'));
  if (!manifestFile) throw new Error(`The manifest.json of '${dir}' lies outside the cloud assembly '${root}'`);
  const manifest = readJson(manifestFile) as { artifacts?: Record<string, { additionalMetadataFile?: unknown } | null> };
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    // cx-api copies the artifacts into plain objects, where this id would set the prototype (no CDK app writes it).
    if (id === '__proto__') throw new Error(`The cloud assembly '${dir}' has an artifact with the id '__proto__', which cannot be read`);
    const file = artifact?.additionalMetadataFile;
    if (file !== undefined && (typeof file !== 'string' || !inside(root, path.join(dir, file)))) {
      throw new Error(`The metadata file of artifact '${id}' lies outside the cloud assembly '${root}'`);
    }
  }
  try {
    return new cxapi.CloudAssembly(dir, { skipVersionCheck: true, skipEnumCheck: true, topoSort: false });
  } catch (err) {
    throw new Error(`Cannot read the cloud assembly '${dir}': ${err instanceof Error ? err.message : String(err)}`);
  }
}

function readAssembly(root: string, assembly: cxapi.CloudAssembly, prefix: string, out: AssemblyStack[]): void {
  for (const artifact of assembly.artifacts) {
    if (artifact instanceof cxapi.NestedCloudAssemblyArtifact) {
      // `nestedAssembly` would open `fullPath` unchecked (and check its schema version): opened here instead.
      const nested = inside(root, artifact.fullPath);
      if (!nested) throw new Error(`The nested assembly '${artifact.id}' lies outside the cloud assembly '${root}'`);
      readAssembly(root, openAssembly(root, nested), `${path.relative(root, nested)}/`, out);
      continue;
    }
    if (!(artifact instanceof cxapi.CloudFormationStackArtifact)) continue;
    const id = artifact.id;
    const templateFile = inside(root, artifact.templateFullPath);
    if (!templateFile) throw new Error(`The template of stack '${id}' lies outside the cloud assembly '${root}'`);
    const { account, region } = artifact.environment;
    const deps = artifact.dependencies;
    out.push({
      assemblyDir: root,
      key: `${prefix}${id}`,
      artifactId: id,
      stackName: artifact.stackName,
      // The construct path (`hierarchicalId`); cx-api's own `displayName` adds the stack name in parentheses.
      displayName: artifact.hierarchicalId,
      templateFile,
      template: readJson(templateFile) as Template,
      account: account === cxapi.UNKNOWN_ACCOUNT ? undefined : account,
      region: region === cxapi.UNKNOWN_REGION ? undefined : region,
      dependencies: deps.filter((d) => d instanceof cxapi.CloudFormationStackArtifact).map((d) => `${prefix}${d.id}`),
      assets: readAssets(root, assembly.directory, id, deps.filter((d) => d instanceof cxapi.AssetManifestArtifact).map((d) => d.file)),
      logicalIds: new Map(artifact.findMetadataByType('aws:cdk:logicalId')
        .filter((m) => typeof m.data === 'string')
        .map((m) => [m.path.replace(/^\//, ''), m.data as string])),
    });
  }
}

/**
 * The file assets of a stack, from its asset manifests (paths as cx-api resolved them onto `dir`), or from
 * `<artifact id>.assets.json` when none is listed.
 */
function readAssets(root: string, dir: string, stackId: string, manifestFiles: string[]): FileAsset[] {
  const files = manifestFiles.length > 0 ? manifestFiles : [path.join(dir, `${stackId}.assets.json`)];
  const assets: FileAsset[] = [];
  for (const given of files) {
    if (!fs.existsSync(given)) continue;
    const full = inside(root, given);
    if (!full) throw new Error(`The asset manifest '${path.relative(dir, given)}' of stack '${stackId}' lies outside the cloud assembly '${root}'`);
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
