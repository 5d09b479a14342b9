/**
 * CPU profiles in `npm run bench`: `node --cpu-prof` of a `deploy` command (and of the emulator it publishes into),
 * read back as self time per function, per file or package, and split by what the process was doing (idle, loading
 * modules, its own code, its dependencies, Node.js itself).
 */
import * as fs from 'fs';
import * as path from 'path';
import { startEmulatorProcess } from './processes';
import { BenchImage, deployWithCli, expectNothingChanged, synthApp } from './publishers';
import { DeployProfile, NoOpProfile, ProfileSummary } from './report';
import { ServedEmulator, stopServedEmulator } from '../test/support/emulator-harness';

const ROOT = path.resolve(__dirname, '..');
const ASSETS = path.join(ROOT, 'assets');

/** What a `.cpuprofile` holds (the fields read here). */
interface CpuProfile {
  readonly nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
  readonly samples: number[];
  readonly timeDeltas: number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** The bundles of `assets/` by content: a cloud assembly holds copies of them under names that are their hashes. */
const bundleNames = new Map<string, string>();
function bundleOf(file: string): string | undefined {
  if (!bundleNames.has(file)) {
    let name = '';
    try {
      const content = fs.readFileSync(file);
      for (const dir of fs.readdirSync(ASSETS)) {
        const candidate = path.join(ASSETS, dir, path.basename(file));
        if (fs.existsSync(candidate) && fs.statSync(candidate).size === content.length && fs.readFileSync(candidate).equals(content)) name = `assets/${dir}`;
      }
    } catch {
      // gone or unreadable: an unnamed file
    }
    bundleNames.set(file, name);
  }
  return bundleNames.get(file) || undefined;
}

/** Where a frame's code lives, short: `node:buffer`, `node_modules/<package>/...`, `lib/...`, `assets/<handler>`. */
function shortFile(url: string): string {
  if (url === '' || url.startsWith('node:')) return url;
  const file = url.replace(/^file:\/\//, '');
  const inModules = file.lastIndexOf('/node_modules/');
  if (inModules >= 0) return `node_modules/${file.slice(inModules + '/node_modules/'.length)}`;
  if (file.startsWith(`${ROOT}/`)) return path.relative(ROOT, file);
  return bundleOf(file) ?? file;
}

/** The group of a frame's self time: the package of a dependency, the file of ours or of Node.js, a pseudo-frame. */
function groupOf(functionName: string, url: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'node: native bindings';
  if (url.startsWith('node:internal/modules/')) return 'node: module loader';
  const file = shortFile(url);
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  return pkg ? `node_modules/${pkg[1]}` : file;
}

/** Whose code a frame runs: ours, a dependency's, Node.js's (with its native bindings), or a pseudo-frame of V8's. */
type Owner = 'idle' | 'garbage collector' | 'V8' | 'Node.js' | 'ours' | 'dependency' | 'other';
function ownerOf(functionName: string, url: string): Owner {
  if (url === '') {
    if (functionName === '(idle)' || functionName === '(garbage collector)') return functionName.slice(1, -1) as Owner;
    // A frame without a script is V8's own ((program), (root)) or a native binding Node.js's modules call (fsync, ...).
    return functionName.startsWith('(') ? 'V8' : 'Node.js';
  }
  if (url.startsWith('node:')) return 'Node.js';
  const file = shortFile(url);
  if (file.startsWith('node_modules/')) return 'dependency';
  if (file.startsWith('lib/') || file.startsWith('assets/')) return 'ours';
  return 'other';
}

/** The kinds of time of a profile, each sample counted once. */
const KIND = {
  'idle': 'idle',
  'garbage collector': 'garbage collector',
  'V8': 'V8 outside JavaScript',
  'loading': 'loading modules (inside require)',
  'ours': 'our code (lib/, handler bundles) with the Node.js calls it makes',
  'dependency': 'dependencies (node_modules) with the Node.js calls they make',
  'Node.js': 'Node.js with no caller of ours on the stack (sockets, streams, timers)',
  'other': 'other code',
} as const;

/**
 * Whether a frame runs inside a `require()`: loading, compiling or running the top level of a module. The entry
 * module's own load (the CLI, called by Node's run_main) is not counted, or the whole start-up would be.
 */
function isLoader(frame: { functionName: string; url: string }): boolean {
  return frame.url === 'node:internal/modules/cjs/loader' && /(^|\.)_load$/.test(frame.functionName);
}

/** A profile's call tree: each node's frame and stack, and what a sample of a node counts for (worked out once per node). */
class ProfileTree {
  private readonly byId: Map<number, CpuProfile['nodes'][number]>;
  private readonly parent = new Map<number, number>();
  private readonly kinds = new Map<number, { kind: string; file?: string }>();
  private readonly loadingFor = new Map<number, string>();

  constructor(profile: CpuProfile) {
    this.byId = new Map(profile.nodes.map((n) => [n.id, n]));
    for (const n of profile.nodes) for (const child of n.children ?? []) this.parent.set(child, n.id);
  }

  public frame(id: number): { functionName: string; url: string } {
    return this.byId.get(id)!.callFrame;
  }

  /** The frames from node `id` to the root. */
  public* stack(id: number): Generator<{ functionName: string; url: string }> {
    for (let at: number | undefined = id; at !== undefined; at = this.parent.get(at)) yield this.frame(at);
  }

  /**
   * The kind of a sample: V8's pseudo-frames as they are; inside a require(), loading; otherwise the innermost code on
   * the stack that is ours or a dependency's, so that Node.js's work on their behalf (hashing, copying buffers, writing
   * files) counts as theirs. With it, for our code, the file of ours that code is in (the innermost on the stack).
   */
  public kindOf(id: number): { kind: string; file?: string } {
    let result = this.kinds.get(id);
    if (result === undefined) {
      const owner = ownerOf(this.frame(id).functionName, this.frame(id).url);
      if (owner === 'idle' || owner === 'garbage collector' || owner === 'V8') {
        result = { kind: KIND[owner] };
      } else {
        let loads = 0;
        let entry = false;
        let caller: { owner: Owner; file: string } | undefined;
        for (const f of this.stack(id)) {
          if (isLoader(f)) loads++;
          if (f.url === 'node:internal/modules/run_main') entry = true;
          const o = ownerOf(f.functionName, f.url);
          if (caller === undefined && (o === 'ours' || o === 'dependency' || o === 'other')) caller = { owner: o, file: groupOf(f.functionName, f.url) };
        }
        result = loads - (entry ? 1 : 0) > 0 ? { kind: KIND.loading } : { kind: KIND[caller?.owner ?? 'Node.js'], file: caller?.file };
      }
      this.kinds.set(id, result);
    }
    return result;
  }

  /**
   * What a sample inside require() is loading: the first dependency on the stack from its root (a package's top level
   * and what it requires), or, loading our own files, the innermost of ours (the file whose require() it is).
   */
  public loadedBy(id: number): string {
    let result = this.loadingFor.get(id);
    if (result === undefined) {
      let dependency: string | undefined;
      let ours: string | undefined;
      for (const { functionName, url } of this.stack(id)) {
        if (url === '' || url.startsWith('node:')) continue;
        const group = groupOf(functionName, url);
        if (group.startsWith('lib/')) ours ??= group;
        else dependency = group;
      }
      result = dependency ?? ours ?? '(Node.js)';
      this.loadingFor.set(id, result);
    }
    return result;
  }
}

/** A `.cpuprofile` summarised: self time per function (the `count` largest), per file or package, and per kind. */
export function summarizeProfile(file: string, count: number): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const tree = new ProfileTree(profile);
  const frame = (id: number) => tree.frame(id);
  const add = (map: Map<string, number>, key: string, seconds: number) => map.set(key, (map.get(key) ?? 0) + seconds);
  const perFunction = new Map<string, number>();
  const perGroup = new Map<string, number>();
  const perKind = new Map<string, number>();
  const perLoad = new Map<string, number>();
  const perOurFile = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const { functionName, url } = frame(id);
    const seconds = (profile.timeDeltas[i] ?? 0) / 1e6;
    const where = shortFile(url);
    add(perFunction, `${functionName || '(anonymous)'}${where ? ` (${where})` : ''}`, seconds);
    add(perGroup, groupOf(functionName, url), seconds);
    const { kind, file: ours } = tree.kindOf(id);
    add(perKind, kind, seconds);
    if (kind === KIND.loading) add(perLoad, tree.loadedBy(id), seconds);
    if (kind === KIND.ours) add(perOurFile, ours!, seconds);
    total += seconds;
  });
  const largest = (map: Map<string, number>, n: number, skip = '') => [...map].filter(([k]) => k !== skip).sort((a, b) => b[1] - a[1]).slice(0, n);
  return {
    total,
    idle: perFunction.get('(idle)') ?? 0,
    top: largest(perFunction, count, '(idle)'),
    byFile: largest(perGroup, count, '(idle)'),
    byKind: largest(perKind, perKind.size),
    loading: largest(perLoad, count),
    ours: largest(perOurFile, count),
  };
}

/** The profile a process wrote into `dir`: the longest, since a process it started with `--cpu-prof` would write one too. */
function mainProfile(dir: string): string {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
  if (files.length === 0) throw new Error(`no CPU profile in ${dir}`);
  const duration = (f: string) => {
    const p = JSON.parse(fs.readFileSync(f, 'utf8')) as CpuProfile;
    return p.endTime - p.startTime;
  };
  return files.map((f) => [f, duration(f)] as const).sort((a, b) => b[1] - a[1])[0][0];
}

/** Where a profiled deploy runs: the work directory, the emulator's bucket, a name for its repository and directories. */
export interface ProfiledDeployPlace { readonly work: string; readonly bucketDir: string; readonly slug: string }

/**
 * One more deploy of `image`, profiled on both sides: into an emulator of its own (fresh data directory, profiled from
 * its start to its stop) and a fresh deployer state, so that it really publishes.
 */
export async function profiledDeploy(label: string, image: BenchImage, compress: boolean, at: ProfiledDeployPlace): Promise<DeployProfile> {
  const dir = path.join(at.work, 'profiles', at.slug);
  const assembly = synthApp(path.join(at.work, `app-${at.slug}`), image, `bench/${at.slug}`, compress);
  const emulator = await startEmulatorProcess(path.join(dir, 'emulator-data'), at.bucketDir, [], ['--cpu-prof', `--cpu-prof-dir=${dir}/emulator`]);
  try {
    const deploy = await deployWithCli(emulator, assembly, path.join(dir, 'deploy-data'), ['--cpu-prof', `--cpu-prof-dir=${dir}/deploy`]);
    await stopServedEmulator(emulator);
    return {
      label, wall: deploy.wall,
      deploy: summarizeProfile(mainProfile(`${dir}/deploy`), 8),
      emulator: summarizeProfile(mainProfile(`${dir}/emulator`), 8),
    };
  } finally {
    await stopServedEmulator(emulator);
    // The emulator's data holds the whole image again: gone once summarised.
    fs.rmSync(path.join(at.work, `app-${at.slug}`), { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A deploy of `assembly` into `dataDir` where it is already deployed (it publishes nothing), profiled. */
export async function profiledNoOpDeploy(label: string, emulator: ServedEmulator, assembly: string, dataDir: string, profileDir: string): Promise<NoOpProfile> {
  const deploy = expectNothingChanged(await deployWithCli(emulator, assembly, dataDir, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]));
  return { label, wall: deploy.wall, profile: summarizeProfile(mainProfile(profileDir), 12) };
}
