/**
 * The deployer's reading of a cloud assembly (`readCloudAssembly`, by the cloud assembly schema): stacks of nested
 * stage assemblies, their order by dependency, their environments and file assets; and the paths of a crafted
 * manifest (a nested assembly, a template, an asset manifest) that lead out of the assembly, refused before anything
 * there is opened.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, CfnResource, Stack, Stage, aws_s3_assets as s3assets } from 'aws-cdk-lib';
import { readCloudAssembly, selectStacks } from '../../../local/deploy/assembly';
import { makeTempDir } from '../../support/temp-dirs';

let tmp: string;
let pristine: string;
let copies = 0;

/**
 * An app of a top-level stack `Base` (in an environment) and a stage `Prod` whose stack `Api` depends on its stack
 * `Data`, which holds a file asset.
 */
function synthApp(outdir: string): void {
  const app = new App({ outdir });
  const base = new Stack(app, 'Base', { env: { account: '111111111111', region: 'eu-west-1' } });
  new CfnResource(base, 'Handle', { type: 'AWS::CloudFormation::WaitConditionHandle' });
  const stage = new Stage(app, 'Prod');
  const api = new Stack(stage, 'Api', { stackName: 'prod-api' });
  new CfnResource(api, 'Handle', { type: 'AWS::CloudFormation::WaitConditionHandle' });
  const data = new Stack(stage, 'Data');
  new CfnResource(data, 'Handle', { type: 'AWS::CloudFormation::WaitConditionHandle' });
  const file = path.join(tmp, 'about.md');
  fs.writeFileSync(file, '# about');
  new s3assets.Asset(data, 'About', { path: file });
  api.addDependency(data);
  app.synth();
}

/** A copy of the pristine assembly, its top and nested manifests changed by `edit`. */
function craftedCopy(edit: (top: any, nested: any, nestedDir: string) => void): string {
  const outdir = path.join(tmp, `cdk.out.${++copies}`);
  fs.cpSync(pristine, outdir, { recursive: true });
  const topFile = path.join(outdir, 'manifest.json');
  const top = JSON.parse(fs.readFileSync(topFile, 'utf8'));
  const nestedDir = path.join(outdir, 'assembly-Prod');
  const nestedFile = path.join(nestedDir, 'manifest.json');
  const nested = JSON.parse(fs.readFileSync(nestedFile, 'utf8'));
  edit(top, nested, nestedDir);
  fs.writeFileSync(topFile, JSON.stringify(top));
  fs.writeFileSync(nestedFile, JSON.stringify(nested));
  return outdir;
}

/** The id of the nested stack artifact whose display path is `display`. */
function artifactId(manifest: any, display: string): string {
  const found = Object.entries<any>(manifest.artifacts).find(([, a]) => a.displayName === display);
  if (!found) throw new Error(`no artifact ${display}`);
  return found[0];
}

beforeAll(() => {
  tmp = makeTempDir('deployer-assembly-');
  pristine = path.join(tmp, 'cdk.out.pristine');
  synthApp(pristine);
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('stacks of the stage assembly are read, each after the stacks it depends on, with their environments', () => {
  const assembly = readCloudAssembly(pristine);
  expect(assembly.dir).toBe(fs.realpathSync(pristine));
  const stacks = assembly.stacks.map((s) => ({ key: s.key, name: s.stackName, display: s.displayName, account: s.account, region: s.region }));
  // The nested manifest lists Api before Data: Data comes first. Otherwise the manifests' order (the stage, then Base).
  expect(Object.keys(JSON.parse(fs.readFileSync(path.join(pristine, 'assembly-Prod', 'manifest.json'), 'utf8')).artifacts)
    .filter((id) => !id.endsWith('.assets'))).toEqual([expect.stringMatching(/Api/), expect.stringMatching(/Data/)]);
  expect(stacks).toEqual([
    { key: expect.stringMatching(/^assembly-Prod\/\S+Data/), name: 'Prod-Data', display: 'Prod/Data', account: undefined, region: undefined },
    { key: expect.stringMatching(/^assembly-Prod\/\S+Api/), name: 'prod-api', display: 'Prod/Api', account: undefined, region: undefined },
    { key: 'Base', name: 'Base', display: 'Base', account: '111111111111', region: 'eu-west-1' },
  ]);
  const api = assembly.stacks.find((s) => s.displayName === 'Prod/Api')!;
  const data = assembly.stacks.find((s) => s.displayName === 'Prod/Data')!;
  expect(api.dependencies).toEqual([data.key]);
  expect(api.template.Resources?.Handle?.Type).toBe('AWS::CloudFormation::WaitConditionHandle');
  // Stage stacks are selected by stack name, artifact id or display path.
  expect(selectStacks(assembly, 'prod-api')).toEqual([api]);
  expect(selectStacks(assembly, 'Prod/Api')).toEqual([api]);
  expect(selectStacks(assembly, api.artifactId)).toEqual([api]);
});

test('a stage stack\'s file asset is read from its asset manifest, its source inside the assembly', () => {
  const data = readCloudAssembly(pristine).stacks.find((s) => s.displayName === 'Prod/Data')!;
  const markdown = data.assets.filter((a) => a.manifestPath.endsWith('.md'));
  expect(markdown).toHaveLength(1);
  expect(markdown[0].problem).toBeUndefined();
  expect(markdown[0].packaging).toBe('file');
  expect(markdown[0].sourcePath.startsWith(fs.realpathSync(pristine) + path.sep)).toBe(true);
  expect(fs.readFileSync(markdown[0].sourcePath, 'utf8')).toBe('# about');
  expect(markdown[0].destinations.length).toBeGreaterThan(0);
});

test('a nested assembly directory outside the assembly is refused before its manifest is read', () => {
  // The outside directory holds a readable assembly: only the check stops it from being read.
  const outside = path.join(tmp, 'outside-assembly');
  fs.cpSync(path.join(pristine, 'assembly-Prod'), outside, { recursive: true });
  const outdir = craftedCopy((top: any) => {
    top.artifacts['assembly-Prod'].properties.directoryName = path.join('..', path.basename(outside));
  });
  expect(() => readCloudAssembly(outdir)).toThrow(/The nested assembly 'assembly-Prod' lies outside the cloud assembly/);
});

test('a nested assembly that names its own directory, or the assembly that contains it, is refused, not read forever', () => {
  const itself = craftedCopy((_top, nested) => {
    nested.artifacts.Loop = { type: 'cdk:cloud-assembly', properties: { directoryName: '.' } };
  });
  expect(() => readCloudAssembly(itself)).toThrow(/^The nested assembly 'Loop' is an assembly already read \('[^']*assembly-Prod'\)/);
  const parent = craftedCopy((_top, nested) => {
    nested.artifacts.Loop = { type: 'cdk:cloud-assembly', properties: { directoryName: '..' } };
  });
  expect(() => readCloudAssembly(parent)).toThrow(/^The nested assembly 'Loop' is an assembly already read/);
});

test('an artifact metadata file outside the assembly is refused before it is read', () => {
  // Newer CDK versions write a stack's metadata (its logical ids) into `additionalMetadataFile`.
  fs.writeFileSync(path.join(tmp, 'outside-metadata.json'), JSON.stringify({}));
  const outdir = craftedCopy((_top, nested) => {
    nested.artifacts[artifactId(nested, 'Prod/Api')].additionalMetadataFile = '../../outside-metadata.json';
  });
  expect(() => readCloudAssembly(outdir)).toThrow(/The metadata file of artifact '[^']+' lies outside the cloud assembly/);
});

test('a template outside the assembly is refused', () => {
  fs.writeFileSync(path.join(tmp, 'outside.template.json'), JSON.stringify({ Resources: {} }));
  const outdir = craftedCopy((_top, nested) => {
    nested.artifacts[artifactId(nested, 'Prod/Api')].properties.templateFile = '../../outside.template.json';
  });
  expect(() => readCloudAssembly(outdir)).toThrow(/The template of stack '[^']+' lies outside the cloud assembly/);
});

test('an asset manifest outside the assembly is refused', () => {
  const outdir = craftedCopy((_top, nested, nestedDir) => {
    const data = nested.artifacts[artifactId(nested, 'Prod/Data')];
    const assetsId = data.dependencies.find((d: string) => nested.artifacts[d].type === 'cdk:asset-manifest');
    const file = nested.artifacts[assetsId].properties.file;
    fs.copyFileSync(path.join(nestedDir, file), path.join(tmp, 'outside.assets.json'));
    nested.artifacts[assetsId].properties.file = '../../outside.assets.json';
  });
  expect(() => readCloudAssembly(outdir)).toThrow(/The asset manifest '[^']*outside\.assets\.json' of stack '[^']+' lies outside the cloud assembly/);
});

test('a stack\'s logical ids are read from its manifest metadata and from its additional metadata file', () => {
  const [stack] = readCloudAssembly(pristine).stacks.filter((s) => s.displayName === 'Prod/Data');
  const logicalId = stack.logicalIds.get('Prod/Data/Handle');
  expect(logicalId).toBe('Handle');
  const outdir = craftedCopy((_top, nested, nestedDir) => {
    const data = nested.artifacts[artifactId(nested, 'Prod/Data')];
    fs.writeFileSync(path.join(nestedDir, 'data.metadata.json'), JSON.stringify(data.metadata));
    delete data.metadata;
    data.additionalMetadataFile = 'data.metadata.json';
  });
  const moved = readCloudAssembly(outdir).stacks.find((s) => s.displayName === 'Prod/Data')!;
  expect(moved.logicalIds.get('Prod/Data/Handle')).toBe(logicalId);
  expect(moved.logicalIds.size).toBe(stack.logicalIds.size);
});

test('a template that does not exist, or a stack without an environment, is an error naming the stack', () => {
  const missing = craftedCopy((_top, nested) => {
    nested.artifacts[artifactId(nested, 'Prod/Api')].properties.templateFile = 'gone.template.json';
  });
  expect(() => readCloudAssembly(missing)).toThrow(/^The template of stack '\S+' \('gone\.template\.json'\) does not exist$/);
  const agnostic = craftedCopy((_top, nested) => {
    delete nested.artifacts[artifactId(nested, 'Prod/Api')].environment;
  });
  expect(() => readCloudAssembly(agnostic)).toThrow(/^Stack '\S+' has no environment of the form aws:\/\/<account>\/<region>/);
});

test('artifact ids that are names of Object.prototype, __proto__ included, are read as ids', () => {
  const rename = (from: string, to: string) => craftedCopy((_top, nested) => {
    const id = artifactId(nested, from);
    // Defined, not assigned: assigning `__proto__` would set the object's prototype, not write the key.
    Object.defineProperty(nested.artifacts, to, { value: nested.artifacts[id], enumerable: true, writable: true, configurable: true });
    delete nested.artifacts[id];
    for (const a of Object.values<any>(nested.artifacts)) a.dependencies = a.dependencies?.map((d: string) => d === id ? to : d);
  });
  const stacks = readCloudAssembly(rename('Prod/Data', 'constructor')).stacks;
  expect(stacks.map((s) => s.key)).toEqual(['assembly-Prod/constructor', expect.stringMatching(/^assembly-Prod\/\S+Api/), 'Base']);
  expect(stacks[1].dependencies).toEqual(['assembly-Prod/constructor']);
  const proto = readCloudAssembly(rename('Prod/Data', '__proto__')).stacks;
  expect(proto.map((s) => s.key)).toEqual(['assembly-Prod/__proto__', expect.stringMatching(/^assembly-Prod\/\S+Api/), 'Base']);
  expect(proto[0].assets.map((a) => a.manifestPath)).toContainEqual(expect.stringMatching(/\.md$/));
});

test('stacks that depend on each other in a cycle are an error naming the cycle', () => {
  const outdir = craftedCopy((_top, nested) => {
    const data = nested.artifacts[artifactId(nested, 'Prod/Data')];
    data.dependencies = [...(data.dependencies ?? []), artifactId(nested, 'Prod/Api')];
  });
  expect(() => readCloudAssembly(outdir)).toThrow(/^Circular dependency between stacks: assembly-Prod\/\S+ -> assembly-Prod\/\S+ -> assembly-Prod\/\S+$/);
});
