/**
 * Publishing a deploy's Docker image assets as cdk-assets does before `cdk deploy` deploys a stack: each image whose
 * tag its repository does not hold yet is built from its directory with its options (`build-command.ts`) by the
 * engine found (`container-engine.ts`), then pushed under the asset's tag to the emulator's stand-in for the
 * bootstrap's ECR repository, through its registry API with GetAuthorizationToken's password
 * (`stand-in-registry.ts`). All of it happens before any resource is created: a missing engine or a failed build stops
 * the deploy first.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { isStandInName } from '../../service/stand-in-repositories';
import { AssemblyStack, fillPlaceholders } from '../assembly';
import { DEFAULT_REGION, Session } from '../session';
import { buildCommand, BuildahStorage, CommandLine, pushCommands } from './build-command';
import { ContainerEngine, findContainerEngine, noEngineMessage } from './container-engine';
import type { ImageAsset } from './manifest';
import { loginToStandIns, StandInRegistry } from './stand-in-registry';

/** How many of a failed command's last lines the error quotes. */
const LAST_LINES = 25;

/** One asset to build, and the images (`repository:tag` of stand-ins) it is pushed as. */
interface Work {
  readonly asset: ImageAsset;
  readonly images: string[];
}

/** Builds and publishes the image assets of `stacks` that their repositories do not hold yet. */
export async function publishImageAssets(session: Session, stacks: readonly AssemblyStack[]): Promise<void> {
  if (!stacks.some((s) => s.imageAssets.length > 0)) return;
  const registry = await loginToStandIns(session.target, stacks.find((s) => s.imageAssets.length > 0)!.region ?? DEFAULT_REGION);
  const work = await workToDo(session, registry, stacks);
  if (work.length === 0) return;
  const engine = findContainerEngine();
  if (!engine) throw new Error(noEngineMessage(work.map((w) => w.asset.id)));
  const base = path.join(session.dataDir, 'deployments', 'container-storage');
  const storage: BuildahStorage = { root: path.join(base, 'root'), runroot: path.join(base, 'run') };
  const authFile = writeAuthFile(base, registry);
  try {
    for (const { asset, images } of work) {
      const localTag = `cdkasset-${asset.id.toLowerCase()}`;
      session.log(`image      ${asset.id}  building with ${engine.name} from ${asset.build!.directory}`);
      await run(session, engine, buildCommand(engine, asset.build!, localTag, storage), `build the image asset ${asset.id}`);
      for (const image of images) {
        const target = { image: `${registry.host}/${image}`, host: registry.host, authFile, password: registry.password };
        for (const line of pushCommands(engine, localTag, target, storage)) {
          await run(session, engine, line, `push the image asset ${asset.id} to ${image}`);
        }
        session.log(`image      ${asset.id}  published to ${image}`);
      }
    }
  } finally {
    fs.rmSync(authFile, { force: true });
  }
}

/** The assets to build, each with the images its repositories lack (an asset shared by stacks is built once). */
async function workToDo(session: Session, registry: StandInRegistry, stacks: readonly AssemblyStack[]): Promise<Work[]> {
  const work: Work[] = [];
  for (const stack of stacks) {
    const region = stack.region ?? DEFAULT_REGION;
    for (const asset of stack.imageAssets) {
      if (asset.problem) {
        session.log(`warning: image asset ${asset.id} is not published: ${asset.problem}`);
        continue;
      }
      const entry = work.find((w) => w.asset.id === asset.id) ?? { asset, images: [] };
      for (const d of asset.destinations) {
        const repository = fillPlaceholders(d.repositoryName, session.accountId, region);
        const tag = fillPlaceholders(d.imageTag, session.accountId, region);
        const image = `${repository}:${tag}`;
        if (!isStandInName(session.accountId, repository)) {
          session.log(`warning: image asset ${asset.id} is not published to ${image}: the emulator stands in for the bootstrap's `
            + `repositories of its account only (cdk-<qualifier>-container-assets-${session.accountId}-<region>)`);
          continue;
        }
        if (entry.images.includes(image)) continue;
        if (await registry.holds(repository, tag)) {
          session.log(`image      ${asset.id}  ${image} is published already (not built again)`);
        } else {
          entry.images.push(image);
        }
      }
      if (entry.images.length > 0 && !work.includes(entry)) work.push(entry);
    }
  }
  return work;
}

/** A containers-auth file with the registry's password, readable by its owner only. */
function writeAuthFile(dir: string, registry: StandInRegistry): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `auth.${process.pid}.json`);
  const auth = Buffer.from(`AWS:${registry.password}`).toString('base64');
  fs.writeFileSync(file, JSON.stringify({ auths: { [registry.host]: { auth } } }), { mode: 0o600 });
  return file;
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
    const child = spawn(line.command, [...line.args], { cwd: line.cwd, env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => undefined);
    child.stdin.end(line.input ?? '');
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
