/**
 * The container engine that builds Docker image assets, found as the CDK finds one and then some: `CDK_DOCKER` (the
 * CDK's own variable: any docker-compatible command), a `docker` whose daemon answers, `podman`, then `buildah`, which
 * needs no daemon (Debian: `apt-get install buildah`).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

/** How an engine is driven: `docker build` and its kin, or `buildah bud` with storage of its own. */
export type EngineKind = 'docker' | 'podman' | 'buildah';

export interface ContainerEngine {
  readonly kind: EngineKind;
  /** The command run: `docker`, `podman`, `buildah`, or what `CDK_DOCKER` names. */
  readonly command: string;
  /** For messages: `buildah (CDK_DOCKER)`. */
  readonly name: string;
}

/** The engines looked for, in order, for the message that none was found. */
export const ENGINES_LOOKED_FOR = 'CDK_DOCKER, a docker whose daemon answers, podman, buildah';

/** How long a probe (`--version`, `docker version`) may take. */
const PROBE_TIMEOUT_MS = 15_000;

/** The engine to build with; undefined when none is found. A `CDK_DOCKER` that does not run is an error, not skipped. */
export function findContainerEngine(env: NodeJS.ProcessEnv = process.env): ContainerEngine | undefined {
  const chosen = env.CDK_DOCKER?.trim();
  if (chosen) {
    if (!runs(chosen, ['--version'], env)) throw new Error(`CDK_DOCKER names '${chosen}', which does not run ('${chosen} --version' failed)`);
    return { kind: kindOf(chosen), command: chosen, name: `${chosen} (CDK_DOCKER)` };
  }
  // `docker version` fails when the client finds no daemon; the client alone builds nothing.
  if (runs('docker', ['version', '--format', '{{.Server.Version}}'], env)) return { kind: 'docker', command: 'docker', name: 'docker' };
  if (runs('podman', ['--version'], env)) return { kind: 'podman', command: 'podman', name: 'podman' };
  if (runs('buildah', ['--version'], env)) return { kind: 'buildah', command: 'buildah', name: 'buildah' };
  return undefined;
}

/** The error of a deploy that needs an engine and has none: what was looked for, and how to install one. */
export function noEngineMessage(assets: readonly string[]): string {
  return `Docker image assets (${assets.join(', ')}) need a container engine to build them, and none was found `
    + `(looked for ${ENGINES_LOOKED_FOR}). Install one: on Debian or Ubuntu \`apt-get install buildah\` (no daemon needed), `
    + 'or Docker or Podman; or set CDK_DOCKER to a docker-compatible command.';
}

/** podman and buildah take their own storage and transports; anything else named by CDK_DOCKER is taken as docker. */
function kindOf(command: string): EngineKind {
  const base = path.basename(command);
  return base.startsWith('buildah') ? 'buildah' : base.startsWith('podman') ? 'podman' : 'docker';
}

/** Whether `command args` exits 0, looked up on the `PATH` of `env`. */
function runs(command: string, args: string[], env: NodeJS.ProcessEnv): boolean {
  const probe = spawnSync(command, args, { stdio: 'ignore', timeout: PROBE_TIMEOUT_MS, env });
  return probe.error === undefined && probe.status === 0;
}
