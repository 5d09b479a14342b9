/**
 * The consumer stage: the library as users install it. The packed jsii tarball is installed into a fresh project with
 * the newest aws-cdk-lib and constructs of our peer range (resolved from the registry now) and, separately, with the
 * oldest. In each, with TypeScript 5.x `strict` against the package's declarations: every TypeScript block of README.md,
 * the example app and a consumer file are compiled, then synthesized; a consumer's mistakes must fail synth as
 * aws-cdk-lib's validation errors. cdk-nag's AwsSolutions checks run on every construct and on the README's cdk-nag
 * blocks: cdk-nag 2 (an Aspect, installed as `cdk-nag-2`) in every project, cdk-nag 3 (a policy-validation plugin)
 * where the aws-cdk-lib is recent enough for it. With the newest, the example app is also deployed to the emulator with
 * the package's own `ecr-public-local`. Any failure, an install's included, fails the stage with its cause.
 *
 * Usage: ts-node --transpile-only test/consumer/run.ts [--only newest|oldest]; needs `npx projen package:js` first.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, 'fixtures');
/** The cdk-nag checks: compiled only here, against the cdk-nag majors installed (`nag-v<major>.ts`). */
const NAG_CHECKS = path.join(__dirname, 'nag');
const EXAMPLE_ASSETS = path.join(ROOT, 'examples', 'assets');
/** The compiler consumers use with ts-node today (TypeScript 7 is not loadable by ts-node). */
const CONSUMER_TYPESCRIPT = '~5.9';

interface Check {
  readonly what: string;
  readonly ok: boolean;
  readonly detail?: string;
}

const checks: Check[] = [];

function record(label: string, what: string, act: () => string | void): boolean {
  try {
    const detail = act() ?? undefined;
    checks.push({ what: `${label}: ${what}`, ok: true, detail });
    console.log(`  ok    ${what}${detail ? `  (${detail})` : ''}`);
    return true;
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    checks.push({ what: `${label}: ${what}`, ok: false, detail });
    console.log(`  FAIL  ${what}\n${indent(detail)}`);
    return false;
  }
}

function indent(text: string): string {
  return text.trimEnd().split('\n').map((l) => `        ${l}`).join('\n');
}

/** Runs a command; throws with its output (the tail) when it fails. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const result = spawnSync(command, args, {
    cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env }, timeout: 15 * 60_000,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    const tail = output.trimEnd().split('\n').slice(-40).join('\n');
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${tail}`);
  }
  return output;
}

/** cdk-nag 2 is installed under this name beside cdk-nag 3, so that one project runs both. */
const NAG2_ALIAS = 'cdk-nag-2';

/**
 * The JSON summary a consumer program prints last on stdout; `run` returns stderr after it, where aws-cdk-lib may print
 * warnings (deprecations), so the last line that is a JSON object is taken.
 */
function summaryOf(output: string): any {
  const line = output.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`no JSON summary in the output:\n${output}`);
  return JSON.parse(line);
}

/** Every version of `pkg` in `range` on the registry, oldest first. */
function versionsInRange(pkg: string, range: string): string[] {
  const out = execFileSync('npm', ['view', `${pkg}@${range}`, 'version', '--json'], { encoding: 'utf8' });
  const parsed = JSON.parse(out) as string | string[];
  const versions = (Array.isArray(parsed) ? parsed : [parsed]).filter((v) => !v.includes('-'));
  if (versions.length === 0) throw new Error(`no release of ${pkg} matches ${range}`);
  return versions;
}

// ---------------------------------------------------------------------------------------------------------------
// README blocks become programs: imports stay on top, `declare const x: T` becomes a fixture of type T, and a block
// that uses `this` runs in the constructor of an eu-west-1 stack that is synthesized. Other blocks are compiled only.

interface Snippet {
  readonly name: string;
  readonly line: number;
  readonly source: string;
  readonly synthesizes: boolean;
  /** The cdk-nag major a block is written for (its fence says ```ts cdk-nag-2 or ```ts cdk-nag-3). */
  readonly nagMajor?: number;
}

/** Fixtures for the types README blocks declare, built in the snippet stack's constructor. */
const FIXTURE_BY_TYPE: Array<[RegExp, (name: string) => string]> = [
  [/^iam\.IRole$/, (n) => `new __cdk.aws_iam.Role(this, 'Fixture${n}', { assumedBy: new __cdk.aws_iam.AccountRootPrincipal() })`],
  [/^I?PublicRepository$/, (n) => `new __lib.PublicRepository(this, 'Fixture${n}', { repositoryName: 'fixture/${n.toLowerCase()}' })`],
  [/^secretsmanager\.ISecret$/, (n) => `new __cdk.aws_secretsmanager.Secret(this, 'Fixture${n}')`],
];

export function readmeSnippets(markdown: string): Snippet[] {
  const snippets: Snippet[] = [];
  const fence = /^```ts(?: cdk-nag-(\d))?\n([\s\S]*?)^```/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    const line = markdown.slice(0, m.index).split('\n').length;
    const name = `readme-${snippets.length + 1}`;
    const nagMajor = m[1] === undefined ? undefined : Number(m[1]);
    // cdk-nag 2 is the alias beside cdk-nag 3 in the consumer projects.
    const block = nagMajor === 2 ? m[2].replace(/from 'cdk-nag'/g, `from '${NAG2_ALIAS}'`) : m[2];
    snippets.push({ name, line, nagMajor, ...snippetProgram(block, `README.md line ${line}`) });
  }
  return snippets;
}

function snippetProgram(block: string, where: string): { source: string; synthesizes: boolean } {
  const imports: string[] = [];
  const declares: Array<{ name: string; type: string }> = [];
  const declareLines: string[] = [];
  const body: string[] = [];
  const lines = block.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^import\s/.test(line)) {
      let statement = line;
      while (!/from\s+'[^']+';?\s*$/.test(statement) && i + 1 < lines.length) statement += `\n${lines[++i]}`;
      imports.push(statement);
    } else if (/^declare\s/.test(line)) {
      declareLines.push(line);
      const constDecl = /^declare\s+const\s+(.+?);?\s*(\/\/.*)?$/.exec(line);
      for (const part of constDecl ? constDecl[1].split(/,(?![^<]*>)/) : []) {
        const [name, type] = part.split(':').map((s) => s.trim());
        declares.push({ name, type });
      }
    } else {
      body.push(line);
    }
  }
  const synthesizes = /\bthis\b/.test(body.join('\n'));
  if (!synthesizes) {
    return {
      synthesizes,
      source: [...imports, '', ...declareLines, '', 'export async function snippet(): Promise<void> {', ...body.map((l) => `  ${l}`), '}', ''].join('\n'),
    };
  }
  const fixtures = declares.map(({ name, type }) => {
    const fixture = FIXTURE_BY_TYPE.find(([pattern]) => pattern.test(type));
    if (!fixture) throw new Error(`${where}: no fixture for 'declare const ${name}: ${type}' (add one to FIXTURE_BY_TYPE)`);
    return `    const ${name}: ${type} = ${fixture[1](name)};`;
  });
  return {
    synthesizes,
    source: [
      ...imports,
      "import * as __cdk from 'aws-cdk-lib';",
      "import * as __lib from 'cdk-ecr-public';",
      '',
      'class Snippet extends __cdk.Stack {',
      '  constructor(scope: __cdk.App, id: string) {',
      "    super(scope, id, { env: { region: 'eu-west-1' } });",
      ...fixtures,
      ...body.map((l) => `    ${l}`),
      '  }',
      '}',
      '',
      'const app = new __cdk.App();',
      "new Snippet(app, 'Snippet');",
      'app.synth();',
      '',
    ].join('\n'),
  };
}

/** A file of ours written against `../src`, as a consumer writes it against the package. */
function asConsumerSource(file: string): string {
  return fs.readFileSync(file, 'utf8')
    .replace(/from '(?:\.\.\/)+src'/g, "from 'cdk-ecr-public'")
    .replace(/from '(?:\.\.\/)+examples\/app'/g, "from './app'");
}

// ---------------------------------------------------------------------------------------------------------------

interface Consumer {
  readonly label: string;
  readonly awsCdkLib: string;
  readonly constructs: string;
  readonly deploy: boolean;
  /** The cdk-nag majors installed (2 always; 3 where aws-cdk-lib is recent enough). */
  readonly nagMajors: number[];
}

function consumerProject(consumer: Consumer, tarball: string, allSnippets: Snippet[]): string {
  const snippets = allSnippets.filter((s) => s.nagMajor === undefined || consumer.nagMajors.includes(s.nagMajor));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cdk-ecr-public-consumer-${consumer.label}-`));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: `consumer-${consumer.label}`,
    private: true,
    dependencies: {
      'cdk-ecr-public': `file:${tarball}`,
      'aws-cdk-lib': consumer.awsCdkLib,
      'constructs': consumer.constructs,
      [NAG2_ALIAS]: 'npm:cdk-nag@^2',
      ...(consumer.nagMajors.includes(3) ? { 'cdk-nag': '^3' } : {}),
    },
    devDependencies: { 'typescript': CONSUMER_TYPESCRIPT, '@types/node': '^20' },
  }, null, 2));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'commonjs',
      lib: ['es2022'],
      strict: true,
      esModuleInterop: true,
      // Our .d.ts are read for every type the sources use; checking aws-cdk-lib's own declarations adds minutes.
      skipLibCheck: true,
      outDir: 'dist',
      rootDir: 'src',
      types: ['node'],
    },
    include: ['src'],
  }, null, 2));
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  for (const s of snippets) fs.writeFileSync(path.join(src, `${s.name}.ts`), s.source);
  fs.writeFileSync(path.join(src, 'app.ts'), asConsumerSource(path.join(ROOT, 'examples', 'app.ts')));
  for (const f of fs.readdirSync(FIXTURES)) fs.writeFileSync(path.join(src, f), asConsumerSource(path.join(FIXTURES, f)));
  for (const major of consumer.nagMajors) {
    fs.writeFileSync(path.join(src, `nag-v${major}.ts`), asConsumerSource(path.join(NAG_CHECKS, `nag-v${major}.ts`)));
  }
  // The files README blocks name, relative to the app's directory.
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.mkdirSync(path.join(dir, 'docs'));
  fs.mkdirSync(path.join(dir, 'build'));
  fs.mkdirSync(path.join(dir, 'app'));
  fs.copyFileSync(path.join(EXAMPLE_ASSETS, 'logo.png'), path.join(dir, 'assets', 'logo.png'));
  fs.copyFileSync(path.join(EXAMPLE_ASSETS, 'ABOUT.md'), path.join(dir, 'docs', 'ABOUT.md'));
  fs.copyFileSync(path.join(EXAMPLE_ASSETS, 'hello-image.tar'), path.join(dir, 'build', 'image.tar'));
  fs.writeFileSync(path.join(dir, 'build', 'sbom.spdx.json'), '{"spdxVersion":"SPDX-2.3"}\n');
  fs.writeFileSync(path.join(dir, 'build', 'provenance.json'), '{"_type":"https://in-toto.io/Statement/v1"}\n');
  fs.writeFileSync(path.join(dir, 'app', 'Dockerfile'), 'FROM scratch\n');
  return dir;
}

/** The resource types of every stack template in a cloud assembly directory. */
function assemblyResourceTypes(outdir: string): Map<string, string[]> {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
  const stacks = new Map<string, string[]>();
  for (const [id, artifact] of Object.entries<any>(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const template = JSON.parse(fs.readFileSync(path.join(outdir, artifact.properties.templateFile), 'utf8'));
    stacks.set(`${id} (${artifact.environment})`, Object.values<any>(template.Resources ?? {}).map((r) => r.Type));
  }
  return stacks;
}

function describeTypes(stacks: Map<string, string[]>): string {
  return [...stacks].map(([id, types]) => `${id}: ${types.length} resources, ${types.filter((t) => t.startsWith('Custom::EcrPublic')).length} ECR Public`).join('; ');
}

/**
 * The AwsSolutions findings cdk-nag 2 left as error or warning annotations in a cloud assembly (in manifest.json with
 * older aws-cdk-lib, in `<stack>.metadata.json` with newer).
 */
function nagFindings(outdir: string): string[] {
  const findings: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {node.forEach(visit);} else if (node !== null && typeof node === 'object') {
      const entry = node as Record<string, unknown>;
      if ((entry.type === 'aws:cdk:error' || entry.type === 'aws:cdk:warning') && /AwsSolutions-/.test(String(entry.data))) {
        findings.push(String(entry.data));
      }
      Object.values(entry).forEach(visit);
    }
  };
  for (const f of fs.readdirSync(outdir).filter((n) => n === 'manifest.json' || n.endsWith('.metadata.json'))) {
    visit(JSON.parse(fs.readFileSync(path.join(outdir, f), 'utf8')));
  }
  return findings;
}

function synthesize(dir: string, script: string, outdir: string, env: NodeJS.ProcessEnv = {}): Map<string, string[]> {
  fs.rmSync(outdir, { recursive: true, force: true });
  run(process.execPath, [path.join('dist', script)], dir, { CDK_OUTDIR: outdir, ...env });
  const stacks = assemblyResourceTypes(outdir);
  if (stacks.size === 0) throw new Error(`${script} synthesized no stack into ${outdir}`);
  const findings = nagFindings(outdir);
  if (findings.length > 0) throw new Error(`${script}: cdk-nag findings:\n${findings.join('\n')}`);
  return stacks;
}

function checkConsumer(consumer: Consumer, tarball: string, snippets: Snippet[]): void {
  const label = `${consumer.label} (aws-cdk-lib ${consumer.awsCdkLib}, constructs ${consumer.constructs})`;
  console.log(`\n${label}`);
  let dir = '';
  const installed = record(label, 'project created and installed', () => {
    dir = consumerProject(consumer, tarball, snippets);
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], dir);
    const version = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', 'aws-cdk-lib', 'package.json'), 'utf8')).version;
    if (version !== consumer.awsCdkLib) throw new Error(`installed aws-cdk-lib ${version}, not ${consumer.awsCdkLib}`);
    return dir;
  });
  if (!installed) return;
  record(label, "README.md's relative links resolve inside the installed package", () => {
    const pkgDir = path.join(dir, 'node_modules', 'cdk-ecr-public');
    const links = [...fs.readFileSync(path.join(pkgDir, 'README.md'), 'utf8').matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((m) => m[1]).filter((l) => !/^[a-z]+:/i.test(l));
    const missing = links.filter((l) => !fs.existsSync(path.join(pkgDir, l)));
    if (missing.length > 0) throw new Error(`not in the package: ${missing.join(', ')}`);
    return `${links.length} links`;
  });
  const compiled = record(label, `tsc (TypeScript ${CONSUMER_TYPESCRIPT}, strict) of ${snippets.length} README blocks, the example app and the consumer files`, () => {
    run(path.join(dir, 'node_modules', '.bin', 'tsc'), ['-p', '.'], dir);
    const version = run(path.join(dir, 'node_modules', '.bin', 'tsc'), ['--version'], dir).trim();
    return version;
  });
  if (!compiled) return;

  for (const s of snippets.filter((x) => x.synthesizes && (x.nagMajor === undefined || consumer.nagMajors.includes(x.nagMajor)))) {
    const nag = s.nagMajor === undefined ? '' : ` with cdk-nag ${s.nagMajor} and no finding`;
    record(label, `README block at line ${s.line} synthesizes in an eu-west-1 stack${nag}`, () => {
      const stacks = synthesize(dir, `${s.name}.js`, path.join(dir, `cdk.out.${s.name}`));
      if (![...stacks.keys()].every((id) => id.includes('/eu-west-1'))) throw new Error(`not an eu-west-1 stack: ${[...stacks.keys()]}`);
      return describeTypes(stacks);
    });
  }
  const appOut = path.join(dir, 'cdk.out.app');
  const appSynthesized = record(label, 'the example app synthesizes', () => {
    fs.rmSync(path.join(dir, 'dist', 'assets'), { recursive: true, force: true });
    fs.cpSync(EXAMPLE_ASSETS, path.join(dir, 'dist', 'assets'), { recursive: true });
    const stacks = synthesize(dir, 'app.js', appOut);
    const custom = [...stacks.values()].flat().filter((t) => t.startsWith('Custom::EcrPublic'));
    if (!custom.includes('Custom::EcrPublicImage')) throw new Error(`no Custom::EcrPublicImage among ${custom.join(', ')}`);
    return describeTypes(stacks);
  });
  for (const major of consumer.nagMajors) {
    record(label, `cdk-nag ${major}'s AwsSolutions checks find nothing on every construct (the grantee's Resource::* acknowledged as the README shows)`, () => {
      if (!appSynthesized) throw new Error('the example app did not synthesize');
      const out = run(process.execPath, [path.join('dist', `nag-v${major}.js`)], dir, { CDK_OUTDIR: path.join(dir, `cdk.out.nag-v${major}`) });
      const summary = summaryOf(out);
      if (summary.findings && summary.findings.length > 0) throw new Error(`findings:\n${summary.findings.join('\n')}`);
      const runtimes = [...new Set(Object.values<any>(JSON.parse(fs.readFileSync(path.join(dir, `cdk.out.nag-v${major}`, 'AcmePublicImages.template.json'), 'utf8')).Resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function').map((r) => r.Properties.Runtime))];
      return `handlers on ${runtimes.join(', ')}`;
    });
  }
  record(label, 'the consumer file synthesizes with every construct and grant', () => {
    const out = run(process.execPath, [path.join('dist', 'consumer-api.js')], dir, {
      CDK_OUTDIR: path.join(dir, 'cdk.out.consumer'), CONSUMER_ASSETS: path.join(dir, 'dist', 'assets'),
    });
    const summary = summaryOf(out);
    if (summary.grants !== true || summary.resources < 10) throw new Error(`unexpected summary ${JSON.stringify(summary)}`);
    return `${summary.resources} resources`;
  });
  record(label, 'a policy statement with resources and an invalid name fail synth as ValidationErrors naming the construct', () => {
    const out = run(process.execPath, [path.join('dist', 'refused-policy.js')], dir);
    const { policy, name } = summaryOf(out);
    if (!policy || !/Refused\/Web\] policy: statement 0 has a Resource element, which ECR refuses/.test(policy.message)) {
      throw new Error(`policy with resources: ${JSON.stringify(policy)}`);
    }
    if (!name || !name.validation || !/Refused\/Web: repositoryName must be lower-case/.test(name.message)) {
      throw new Error(`invalid name: ${JSON.stringify(name)}`);
    }
    return `policy error is ${policy.validation ? '' : 'not '}a ValidationError; name error is a ValidationError`;
  });

  if (consumer.deploy && appSynthesized) {
    record(label, "the example app deploys to the emulator with the package's ecr-public-local", () => {
      const data = path.join(dir, 'emulator-data');
      const bin = path.join(dir, 'node_modules', '.bin', 'ecr-public-local');
      const env = { AWS_ENDPOINT_URL_ECR_PUBLIC: '', ECR_PUBLIC_LOCAL_FAULTS: '' };
      const first = run(bin, ['deploy', appOut, '--data', data], dir, env);
      const created = (first.match(/^ {2}created /gm) ?? []).length;
      if (created === 0 || !/Custom::EcrPublicImage/.test(first)) throw new Error(`deploy created nothing:\n${first}`);
      const second = run(bin, ['deploy', appOut, '--data', data], dir, env);
      if (/^ {2}(created|updated|replaced) /m.test(second)) throw new Error(`a second deploy changed something:\n${second}`);
      run(bin, ['destroy', appOut, '--data', data], dir, env);
      return `${created} created, then unchanged, then destroyed`;
    });
  }
  if (checks.every((c) => c.ok)) fs.rmSync(dir, { recursive: true, force: true });
  else console.log(`  (project left in ${dir})`);
}

/** Whether `version` (x.y.z) is at least `minimum` (x.y.z) within the same major: a caret range's test. */
function satisfiesCaret(version: string, minimum: string): boolean {
  const [a, b] = [version, minimum].map((v) => v.split('.').map(Number));
  return a[0] === b[0] && (a[1] > b[1] || (a[1] === b[1] && a[2] >= b[2]));
}

function main(): number {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { only: { type: 'string' } } });
  const distDir = path.join(ROOT, 'dist', 'js');
  const tarballs = fs.existsSync(distDir) ? fs.readdirSync(distDir).filter((f) => f.endsWith('.jsii.tgz')) : [];
  if (tarballs.length !== 1) {
    console.log(`consumer stage: expected one packed library in dist/js (run 'npx projen package:js'), found ${tarballs.length}`);
    return 1;
  }
  const tarball = path.join(distDir, tarballs[0]);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const snippets = readmeSnippets(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  const cdkVersions = versionsInRange('aws-cdk-lib', pkg.peerDependencies['aws-cdk-lib']);
  const constructsVersions = versionsInRange('constructs', pkg.peerDependencies.constructs);
  // cdk-nag 3 needs a recent aws-cdk-lib (its peer range says which); cdk-nag 2 works with the whole of ours.
  const nag3Peer = execFileSync('npm', ['view', 'cdk-nag@^3', 'peerDependencies.aws-cdk-lib'], { encoding: 'utf8' }).trim().split('\n').pop()!;
  const nagMajors = (awsCdkLib: string) => (satisfiesCaret(awsCdkLib, nag3Peer.replace(/^.*?\^/, '').replace(/['"]/g, '')) ? [2, 3] : [2]);
  const newest = cdkVersions[cdkVersions.length - 1];
  const consumers: Consumer[] = [
    { label: 'newest', awsCdkLib: newest, constructs: constructsVersions[constructsVersions.length - 1], deploy: true, nagMajors: nagMajors(newest) },
    { label: 'oldest', awsCdkLib: cdkVersions[0], constructs: constructsVersions[0], deploy: false, nagMajors: nagMajors(cdkVersions[0]) },
  ].filter((c) => values.only === undefined || c.label === values.only);
  console.log(`consumer stage: ${path.relative(ROOT, tarball)}, peer range aws-cdk-lib ${pkg.peerDependencies['aws-cdk-lib']}, `
    + `${snippets.length} README blocks (${snippets.filter((s) => s.synthesizes).length} synthesized)`);
  for (const consumer of consumers) checkConsumer(consumer, tarball, snippets);
  const failed = checks.filter((c) => !c.ok);
  console.log(`\nconsumer stage: ${checks.length - failed.length} of ${checks.length} checks passed`);
  for (const f of failed) console.log(`  failed: ${f.what}`);
  return failed.length === 0 && checks.length > 0 ? 0 : 1;
}

if (require.main === module) process.exit(main());
