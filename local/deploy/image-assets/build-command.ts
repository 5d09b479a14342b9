/**
 * The command lines that build an image asset and push it to a stand-in repository, for each kind of engine. A
 * docker-like engine gets `build` with the flags cdk-assets gives `docker build`, in its order; buildah gets the same
 * flags to `bud`, with daemonless storage of the deployer's own and chroot isolation, which work for root and for
 * unprivileged users alike.
 */
import type { ContainerEngine } from './container-engine';
import type { CacheOption, ImageBuild } from './manifest';

/** One command: the program and its arguments, run in `cwd`. */
export interface CommandLine {
  readonly command: string;
  readonly args: readonly string[];
  /** @default - the deployer's working directory */
  readonly cwd?: string;
  /** What the command reads on its standard input. @default nothing */
  readonly input?: string;
}

/** buildah's storage: a vfs store under the deployer's data directory (no overlay, no daemon, no system paths). */
export interface BuildahStorage {
  readonly root: string;
  readonly runroot: string;
}

/** The build of `build`, tagged `localTag` in the engine's own storage. */
export function buildCommand(engine: ContainerEngine, build: ImageBuild, localTag: string, storage: BuildahStorage): CommandLine {
  const buildah = engine.kind === 'buildah';
  const args = [
    ...(buildah ? [...storageArgs(storage), 'bud', '--isolation', 'chroot'] : ['build']),
    ...[...build.buildArgs].flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    ...[...build.buildSecrets].flatMap(([k, v]) => ['--secret', `id=${k},${v}`]),
    ...[...build.buildContexts].flatMap(([k, v]) => ['--build-context', `${k}=${v}`]),
    ...(build.buildSsh !== undefined ? ['--ssh', build.buildSsh] : []),
    '--tag', localTag,
    ...(build.target !== undefined ? ['--target', build.target] : []),
    ...(build.dockerFile !== undefined ? ['--file', build.dockerFile] : []),
    ...(build.networkMode !== undefined ? ['--network', build.networkMode] : []),
    ...(build.platform !== undefined ? ['--platform', build.platform] : []),
    ...build.outputs.map((output) => `--output=${output}`),
    ...build.cacheFrom.flatMap((c) => ['--cache-from', buildah ? buildahCache(c, 'cacheFrom') : cacheFlag(c)]),
    ...(build.cacheTo !== undefined ? ['--cache-to', buildah ? buildahCache(build.cacheTo, 'cacheTo') : cacheFlag(build.cacheTo)] : []),
    ...(build.cacheDisabled ? ['--no-cache'] : []),
    '.',
  ];
  return { command: engine.command, args, cwd: build.directory };
}

/** Where an image is pushed: the stand-in's `host/repository:tag`, and the registry's credentials for the engine. */
export interface PushTarget {
  readonly image: string;
  /** The registry host (`127.0.0.1:PORT`), plain HTTP on loopback. */
  readonly host: string;
  /** A containers-auth file (`{"auths": {host: {auth}}}`) holding the password, for buildah and podman. */
  readonly authFile: string;
  /** The password itself, given to `docker login` on its standard input. */
  readonly password: string;
}

/**
 * The commands that push `localTag` to `target`, as cdk-assets pushes to ECR: `docker login`, `docker tag` and
 * `docker push` for a docker-like engine; `push` with the credentials file for buildah and podman.
 */
export function pushCommands(engine: ContainerEngine, localTag: string, target: PushTarget, storage: BuildahStorage): CommandLine[] {
  const options = ['--tls-verify=false', '--authfile', target.authFile];
  switch (engine.kind) {
    case 'buildah': return [{ command: engine.command, args: [...storageArgs(storage), 'push', ...options, localTag, `docker://${target.image}`] }];
    case 'podman': return [{ command: engine.command, args: ['push', ...options, localTag, `docker://${target.image}`] }];
    // Docker takes plain HTTP from registries on 127.0.0.0/8 without being told.
    case 'docker': return [
      { command: engine.command, args: ['login', '--username', 'AWS', '--password-stdin', target.host], input: target.password },
      { command: engine.command, args: ['tag', localTag, target.image] },
      { command: engine.command, args: ['push', target.image] },
    ];
  }
}

function storageArgs(storage: BuildahStorage): string[] {
  return ['--root', storage.root, '--runroot', storage.runroot, '--storage-driver', 'vfs'];
}

/** cdk-assets' `type=<type>,<key>=<value>,...`. */
function cacheFlag(option: CacheOption): string {
  return [`type=${option.type}`, ...[...option.params].map(([k, v]) => `${k}=${v}`)].join(',');
}

/** buildah caches in a repository: a registry cache's `ref`; the other kinds of BuildKit cache it has no counterpart for. */
function buildahCache(option: CacheOption, member: string): string {
  const ref = option.params.get('ref');
  if (option.type !== 'registry' || ref === undefined) {
    throw new Error(`buildah keeps build caches in registries only: the asset's ${member} of type '${option.type}' needs docker (set CDK_DOCKER)`);
  }
  return ref;
}
