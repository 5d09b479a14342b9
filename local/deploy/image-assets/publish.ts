/**
 * Publishing a deploy's Docker image assets as cdk-assets does before `cdk deploy` deploys a stack: each image whose
 * tag its stand-in repository does not hold yet is built from its directory with its options (`build-command.ts`) by
 * the engine found (`container-engine.ts`), then copied into the emulator's stand-in for the bootstrap's ECR
 * repository (`service/stand-in-repositories.ts`, an OCI layout in the emulator's data directory) under the asset's
 * tag. All of it happens before any resource is created: a missing engine or a failed build stops the deploy first.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { hasStandIn, standInDirectory, standInTags } from '../../service/stand-in-repositories';
import { Store } from '../../store/store';
import { AssemblyStack, fillPlaceholders } from '../assembly';
import { DEFAULT_REGION, Session } from '../session';
import { buildCommand, BuildahStorage, CommandLine, pushCommand } from './build-command';
import { ContainerEngine, findContainerEngine, noEngineMessage } from './container-engine';
import type { ImageAsset } from './manifest';

/** How many of a failed command's last lines the error quotes. */
const LAST_LINES = 25;

/** One asset to build, and the stand-ins (layout directory and tag) it goes to. */
interface Work {
  readonly asset: ImageAsset;
  readonly targets: Array<{ readonly layoutDir: string; readonly image: string; readonly tag: string }>;
}

/** Builds and publishes the image assets of `stacks` that their stand-ins do not hold yet. */
export async function publishImageAssets(session: Session, stacks: readonly AssemblyStack[]): Promise<void> {
  const root = standInRoot(session);
  const work: Work[] = [];
  for (const stack of stacks) {
    const region = stack.region ?? DEFAULT_REGION;
    for (const asset of stack.imageAssets) {
      if (asset.problem) {
        session.log(`warning: image asset ${asset.id} is not published: ${asset.problem}`);
        continue;
      }
      const targets: Work['targets'] = [];
      for (const d of asset.destinations) {
        const repository = fillPlaceholders(d.repositoryName, session.accountId, region);
        const tag = fillPlaceholders(d.imageTag, session.accountId, region);
        if (root === undefined) {
          throw new Error(`The image asset ${asset.id} is published into the emulator's data directory, which this deploy does not know: `
            + `deploy with the emulator in-process, or with one serving (\`serve --data\`) the deploy's data directory ${session.dataDir}`);
        }
        const layoutDir = standInDirectory(root, repository);
        if (layoutDir === undefined) throw new Error(`The image asset ${asset.id} goes to the repository '${repository}', which is not a single-segment private ECR name the emulator stands in for`);
        if (hasStandIn(root, repository) && standInTags(root, repository).includes(tag)) {
          session.log(`image      ${asset.id}  ${repository}:${tag} is published already (not built again)`);
        } else if (!targets.some((t) => t.layoutDir === layoutDir && t.tag === tag)) {
          targets.push({ layoutDir, image: `${repository}:${tag}`, tag });
        }
      }
      // Stacks that share an asset (its id is its hash) build it once.
      const same = work.find((w) => w.asset.id === asset.id);
      if (same) same.targets.push(...targets.filter((t) => !same.targets.some((s) => s.layoutDir === t.layoutDir && s.tag === t.tag)));
      else if (targets.length > 0) work.push({ asset, targets });
    }
  }
  if (work.length === 0) return;
  const engine = findContainerEngine();
  if (!engine) throw new Error(noEngineMessage(work.map((w) => w.asset.id)));
  const storage = buildahStorage(session.dataDir);
  for (const { asset, targets } of work) {
    const localTag = `cdkasset-${asset.id.toLowerCase()}`;
    session.log(`image      ${asset.id}  building with ${engine.name} from ${asset.build!.directory}`);
    await run(session, engine, buildCommand(engine, asset.build!, localTag, storage), `build the image asset ${asset.id}`);
    for (const target of targets) {
      fs.mkdirSync(path.dirname(target.layoutDir), { recursive: true });
      await run(session, engine, pushCommand(engine, localTag, target.layoutDir, target.tag, storage),
        `copy the image asset ${asset.id} into ${target.image}`);
      session.log(`image      ${asset.id}  published to ${target.image}`);
    }
  }
}

/**
 * The root the emulator keeps its stand-ins under: its data directory, when it runs in this process or serves the
 * deploy's data directory; undefined for an emulator elsewhere.
 */
function standInRoot(session: Session): string | undefined {
  if (session.emulator) return session.emulator.root;
  return Store.holder(session.dataDir)?.endpoint === session.endpoint ? session.dataDir : undefined;
}

function buildahStorage(dataDir: string): BuildahStorage {
  const base = path.join(dataDir, 'deployments', 'container-storage');
  return { root: path.join(base, 'root'), runroot: path.join(base, 'run') };
}

/** Runs `line`; its output streams under `--verbose`, and its last lines are quoted when it fails. */
async function run(session: Session, engine: ContainerEngine, line: CommandLine, what: string): Promise<void> {
  const last: string[] = [];
  const onLine = (text: string) => {
    last.push(text);
    if (last.length > LAST_LINES) last.shift();
    if (session.verbose) session.log(`    | ${text}`);
  };
  const outcome = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    const child = spawn(line.command, [...line.args], { cwd: line.cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (pending + chunk).split(/\r?\n/);
        pending = lines.pop()!;
        lines.forEach(onLine);
      });
      stream.on('end', () => { if (pending) onLine(pending); });
    }
    child.on('error', (error) => resolve({ code: null, error }));
    child.on('close', (code) => resolve({ code }));
  });
  if (outcome.code === 0) return;
  const how = outcome.error ? `could not run '${line.command}': ${outcome.error.message}` : `'${line.command}' exited with code ${outcome.code}`;
  const tail = last.length > 0 ? `; its last lines:\n${last.map((l) => `    ${l}`).join('\n')}` : '';
  throw new Error(`${engine.name} failed to ${what} (${how})${tail}`);
}
