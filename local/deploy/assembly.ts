/**
 * Reading a cloud assembly (`cdk.out`): its stacks (nested stage assemblies included), their templates and their file
 * assets, as `manifest.json` and the `<stack>.assets.json` manifests describe them.
 */
import * as fs from 'fs';
import * as path from 'path';
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
}

export interface CloudAssembly {
  /** The real path of the assembly directory: nothing outside it is ever served. */
  readonly dir: string;
  /** Every stack, in dependency order (a stack after those it depends on). */
  readonly stacks: AssemblyStack[];
}

interface ManifestArtifact {
  readonly type: string;
  readonly environment?: string;
  readonly properties?: Record<string, any>;
  readonly dependencies?: string[];
  readonly displayName?: string;
}

/** Reads the assembly in `dir`. */
export function readCloudAssembly(dir: string): CloudAssembly {
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) {
    throw new Error(`'${dir}' is not a cloud assembly (no manifest.json): synthesize the app first (app.synth() or cdk synth)`);
  }
  const root = fs.realpathSync(dir);
  if (!inside(root, path.join(root, 'manifest.json'))) throw new Error(`The manifest.json of '${dir}' lies outside the cloud assembly '${root}'`);
  const stacks: AssemblyStack[] = [];
  readAssembly(root, root, '', stacks);
  return { dir: root, stacks: dependencyOrder(stacks) };
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
  return text
    .replace(/\$\{AWS::AccountId\}/g, account)
    .replace(/\$\{AWS::Region\}/g, region)
    .replace(/\$\{AWS::Partition\}/g, 'aws');
}

function readAssembly(root: string, dir: string, prefix: string, out: AssemblyStack[]): void {
  const manifestFile = inside(root, path.join(dir, 'manifest.json'));
  if (!manifestFile) throw new Error(`The manifest.json of '${dir}' lies outside the cloud assembly '${root}'`);
  const manifest = readJson(manifestFile) as { artifacts?: Record<string, ManifestArtifact> };
  const artifacts = manifest.artifacts ?? {};
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (artifact.type === 'cdk:cloud-assembly') {
      const nested = inside(root, path.join(dir, String(artifact.properties?.directoryName ?? '')));
      if (!nested) throw new Error(`The nested assembly '${id}' lies outside the cloud assembly '${root}'`);
      readAssembly(root, nested, `${path.relative(root, nested)}/`, out);
      continue;
    }
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const props = artifact.properties ?? {};
    const templateFile = inside(root, path.join(dir, String(props.templateFile ?? `${id}.template.json`)));
    if (!templateFile) throw new Error(`The template of stack '${id}' lies outside the cloud assembly '${root}'`);
    const { account, region } = parseEnvironment(artifact.environment);
    const deps = artifact.dependencies ?? [];
    out.push({
      assemblyDir: root,
      key: `${prefix}${id}`,
      artifactId: id,
      stackName: String(props.stackName ?? id),
      displayName: artifact.displayName ?? id,
      templateFile,
      template: readJson(templateFile) as Template,
      account,
      region,
      dependencies: deps.filter((d) => artifacts[d]?.type === 'aws:cloudformation:stack').map((d) => `${prefix}${d}`),
      assets: readAssets(root, dir, id, deps.filter((d) => artifacts[d]?.type === 'cdk:asset-manifest')
        .map((d) => String(artifacts[d].properties?.file ?? `${d}.json`))),
    });
  }
}

/** The file assets of a stack, from its asset manifests (or `<artifact id>.assets.json` when none is listed). */
function readAssets(root: string, dir: string, stackId: string, manifestFiles: string[]): FileAsset[] {
  const files = manifestFiles.length > 0 ? manifestFiles : [`${stackId}.assets.json`];
  const assets: FileAsset[] = [];
  for (const file of files) {
    const given = path.join(dir, file);
    if (!fs.existsSync(given)) continue;
    const full = inside(root, given);
    if (!full) throw new Error(`The asset manifest '${file}' of stack '${stackId}' lies outside the cloud assembly '${root}'`);
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

/** `aws://<account>/<region>`, where `unknown-account` / `unknown-region` mean environment-agnostic. */
function parseEnvironment(env: string | undefined): { account?: string; region?: string } {
  const match = /^aws:\/\/([^/]+)\/([^/]+)$/.exec(env ?? '');
  if (!match) return {};
  return {
    account: match[1] === 'unknown-account' ? undefined : match[1],
    region: match[2] === 'unknown-region' ? undefined : match[2],
  };
}

/** Stacks after the stacks they depend on; the manifest's order otherwise. */
function dependencyOrder(stacks: AssemblyStack[]): AssemblyStack[] {
  const byKey = new Map(stacks.map((s) => [s.key, s]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const ordered: AssemblyStack[] = [];
  const visit = (stack: AssemblyStack): void => {
    if (done.has(stack.key)) return;
    if (visiting.has(stack.key)) throw new Error(`The stacks depend on each other in a cycle through '${stack.displayName}'`);
    visiting.add(stack.key);
    for (const dep of stack.dependencies) {
      const other = byKey.get(dep);
      if (other) visit(other);
    }
    visiting.delete(stack.key);
    done.add(stack.key);
    ordered.push(stack);
  };
  stacks.forEach(visit);
  return ordered;
}

function readJson(file: string): unknown {
  try {
    return parseJsonData(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`Cannot read '${file}': ${err instanceof Error ? err.message : String(err)}`);
  }
}
