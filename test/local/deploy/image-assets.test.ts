/**
 * The parts of publishing Docker image assets that need no build: the command lines given to each kind of engine (the
 * flags cdk-assets gives `docker build`, in its order), the order engines are looked for in (with stand-in commands
 * on a PATH of their own), and the image URIs handlers are given in place of the bootstrap repository's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AssemblyStack } from '../../../local/deploy/assembly';
import { buildCommand, pushCommands } from '../../../local/deploy/image-assets/build-command';
import { ContainerEngine, findContainerEngine } from '../../../local/deploy/image-assets/container-engine';
import { ImageBuild, readImageAssets } from '../../../local/deploy/image-assets/manifest';
import { standInImageUris, withStandInUris } from '../../../local/deploy/image-assets/stand-in-uris';
import { makeTempDir } from '../../support/temp-dirs';

const STORAGE = { root: '/data/deployments/container-storage/root', runroot: '/data/deployments/container-storage/run' };
const DOCKER: ContainerEngine = { kind: 'docker', command: 'docker', name: 'docker' };
const BUILDAH: ContainerEngine = { kind: 'buildah', command: 'buildah', name: 'buildah' };

const EVERY_OPTION: ImageBuild = {
  directory: '/asm/asset.abc',
  dockerFile: 'build/Dockerfile.web',
  target: 'release',
  buildArgs: new Map([['VERSION', '1.4.2'], ['FLAVOUR', 'slim']]),
  buildSecrets: new Map([['npmrc', 'src=/home/me/.npmrc']]),
  buildContexts: new Map([['shared', '../shared']]),
  buildSsh: 'default',
  networkMode: 'host',
  platform: 'linux/arm64',
  outputs: ['type=local,dest=out'],
  cacheFrom: [{ type: 'registry', params: new Map([['ref', 'cache.example/web:cache']]) }],
  cacheTo: { type: 'registry', params: new Map([['ref', 'cache.example/web:cache'], ['mode', 'max']]) },
  cacheDisabled: true,
};

describe('command lines', () => {
  test("a docker-like engine gets cdk-assets' flags, in cdk-assets' order, run in the asset's directory", () => {
    expect(buildCommand(DOCKER, EVERY_OPTION, 'cdkasset-abc', STORAGE)).toEqual({
      command: 'docker',
      cwd: '/asm/asset.abc',
      args: [
        'build',
        '--build-arg', 'VERSION=1.4.2', '--build-arg', 'FLAVOUR=slim',
        '--secret', 'id=npmrc,src=/home/me/.npmrc',
        '--build-context', 'shared=../shared',
        '--ssh', 'default',
        '--tag', 'cdkasset-abc',
        '--target', 'release',
        '--file', 'build/Dockerfile.web',
        '--network', 'host',
        '--platform', 'linux/arm64',
        '--output=type=local,dest=out',
        '--cache-from', 'type=registry,ref=cache.example/web:cache',
        '--cache-to', 'type=registry,ref=cache.example/web:cache,mode=max',
        '--no-cache',
        '.',
      ],
    });
  });

  test('buildah gets the same flags to bud, with vfs storage of its own, chroot isolation and registry caches by reference', () => {
    const { args } = buildCommand(BUILDAH, EVERY_OPTION, 'cdkasset-abc', STORAGE);
    expect(args.slice(0, 9)).toEqual(['--root', STORAGE.root, '--runroot', STORAGE.runroot, '--storage-driver', 'vfs', 'bud', '--isolation', 'chroot']);
    expect(args).toContain('cache.example/web:cache');
    expect(args.join(' ')).toContain('--cache-from cache.example/web:cache --cache-to cache.example/web:cache --no-cache .');
    const minimal = buildCommand(BUILDAH, {
      ...EVERY_OPTION,
      buildArgs: new Map(),
      buildSecrets: new Map(),
      buildContexts: new Map(),
      buildSsh: undefined,
      dockerFile: undefined,
      target: undefined,
      networkMode: undefined,
      platform: undefined,
      outputs: [],
      cacheFrom: [],
      cacheTo: undefined,
      cacheDisabled: false,
    }, 'cdkasset-abc', STORAGE);
    expect(minimal.args.slice(9)).toEqual(['--tag', 'cdkasset-abc', '.']);
  });

  test('buildah refuses a BuildKit cache it has no counterpart for, saying docker takes it', () => {
    expect(() => buildCommand(BUILDAH, { ...EVERY_OPTION, cacheFrom: [{ type: 'gha', params: new Map() }] }, 't', STORAGE))
      .toThrow("buildah keeps build caches in registries only: the asset's cacheFrom of type 'gha' needs docker (set CDK_DOCKER)");
  });

  test('each engine pushes to the stand-in as cdk-assets pushes to ECR: buildah and podman with a credentials file, docker after login', () => {
    const target = { image: '127.0.0.1:5151/repo:abc', host: '127.0.0.1:5151', authFile: '/data/auth.json', password: 'pw' };
    expect(pushCommands(BUILDAH, 'cdkasset-abc', target, STORAGE)).toEqual([{
      command: 'buildah',
      args: [
        '--root', STORAGE.root, '--runroot', STORAGE.runroot, '--storage-driver', 'vfs',
        'push', '--tls-verify=false', '--authfile', '/data/auth.json', 'cdkasset-abc', 'docker://127.0.0.1:5151/repo:abc',
      ],
    }]);
    expect(pushCommands({ kind: 'podman', command: 'podman', name: 'podman' }, 'cdkasset-abc', target, STORAGE))
      .toEqual([{ command: 'podman', args: ['push', '--tls-verify=false', '--authfile', '/data/auth.json', 'cdkasset-abc', 'docker://127.0.0.1:5151/repo:abc'] }]);
    expect(pushCommands(DOCKER, 'cdkasset-abc', target, STORAGE)).toEqual([
      { command: 'docker', args: ['login', '--username', 'AWS', '--password-stdin', '127.0.0.1:5151'], input: 'pw' },
      { command: 'docker', args: ['tag', 'cdkasset-abc', '127.0.0.1:5151/repo:abc'] },
      { command: 'docker', args: ['push', '127.0.0.1:5151/repo:abc'] },
    ]);
  });
});

describe('the engine looked for', () => {
  /** A PATH holding commands that exit with the given status (docker: for `docker version`, its daemon's answer). */
  function pathWith(commands: Record<string, number>): string {
    const dir = makeTempDir('engines-');
    for (const [name, status] of Object.entries(commands)) {
      fs.writeFileSync(path.join(dir, name), `#!/bin/sh\nexit ${status}\n`, { mode: 0o755 });
    }
    return dir;
  }

  test('in order: CDK_DOCKER, a docker whose daemon answers, podman, buildah', () => {
    const all = pathWith({ docker: 0, podman: 0, buildah: 0 });
    expect(findContainerEngine({ PATH: all, CDK_DOCKER: path.join(all, 'podman') })).toEqual({ kind: 'podman', command: path.join(all, 'podman'), name: `${path.join(all, 'podman')} (CDK_DOCKER)` });
    expect(findContainerEngine({ PATH: all })?.kind).toBe('docker');
    expect(findContainerEngine({ PATH: pathWith({ docker: 1, podman: 0, buildah: 0 }) })?.kind).toBe('podman');
    expect(findContainerEngine({ PATH: pathWith({ docker: 1, buildah: 0 }) })?.kind).toBe('buildah');
    expect(findContainerEngine({ PATH: pathWith({ docker: 1 }) })).toBeUndefined();
  });

  test('a CDK_DOCKER that does not run is an error, not passed over', () => {
    expect(() => findContainerEngine({ PATH: pathWith({ buildah: 0 }), CDK_DOCKER: 'finch' }))
      .toThrow("CDK_DOCKER names 'finch', which does not run ('finch --version' failed)");
  });
});

describe('image URIs given to handlers', () => {
  const stack = {
    imageAssets: [{ id: 'abc', destinations: [{ repositoryName: 'cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}', imageTag: 'abc' }] }],
  } as unknown as AssemblyStack;

  test("the bootstrap repository's URI of each asset becomes the stand-in's on the emulator; nothing else changes", () => {
    const uris = standInImageUris(stack, '123456789012', 'eu-west-1', '127.0.0.1:5151');
    const aws = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-hnb659fds-container-assets-123456789012-eu-west-1:abc';
    expect([...uris]).toEqual([[aws, '127.0.0.1:5151/cdk-hnb659fds-container-assets-123456789012-eu-west-1:abc']]);
    expect(withStandInUris({ SourceImage: aws, Tags: [aws, `${aws}-not`], Nested: { Other: 'x' } }, uris)).toEqual({
      SourceImage: '127.0.0.1:5151/cdk-hnb659fds-container-assets-123456789012-eu-west-1:abc',
      Tags: ['127.0.0.1:5151/cdk-hnb659fds-container-assets-123456789012-eu-west-1:abc', `${aws}-not`],
      Nested: { Other: 'x' },
    });
  });
});

describe('the asset manifest, read as data', () => {
  /** An assembly directory holding `files`, and its manifest `app.assets.json` holding `dockerImages`. */
  function assembly(dockerImages: unknown, files: Record<string, string> = {}): { root: string; manifest: string } {
    const root = fs.realpathSync(makeTempDir('image-manifest-'));
    for (const [name, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
      fs.writeFileSync(path.join(root, name), content);
    }
    const manifest = path.join(root, 'app.assets.json');
    fs.writeFileSync(manifest, JSON.stringify({ version: '36.0.0', dockerImages }));
    return { root, manifest };
  }
  const destinations = { d: { repositoryName: 'cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}', imageTag: 'abc' } };

  test('a directory inside the assembly is built with the options given; one outside it, or a command, is not built', () => {
    // Beside the assembly (both in the temporary directory): `../<name>` from it.
    const outside = fs.realpathSync(makeTempDir('outside-'));
    fs.writeFileSync(path.join(outside, 'Dockerfile'), 'FROM scratch\n');
    const { root, manifest } = assembly({
      inside: { source: { directory: 'asset.in', dockerBuildArgs: { A: '1' }, platform: 'linux/arm64', cacheDisabled: true }, destinations },
      escaping: { source: { directory: `../${path.basename(outside)}` }, destinations },
      absolute: { source: { directory: outside }, destinations },
      command: { source: { executable: ['sh', '-c', 'echo image'] }, destinations },
    }, { 'asset.in/Dockerfile': 'FROM scratch\n' });
    const assets = readImageAssets(root, root, [manifest]);
    expect(assets.map((a) => [a.id, a.problem ?? 'ok'])).toEqual([
      ['inside', 'ok'],
      ['escaping', `its directory '../${path.basename(outside)}' is not a directory inside the cloud assembly`],
      ['absolute', `its directory '${outside}' is not a directory inside the cloud assembly`],
      ['command', 'it is built by a command, which the local deployer does not run'],
    ]);
    expect(assets[0].build).toMatchObject({ directory: path.join(root, 'asset.in'), buildArgs: new Map([['A', '1']]), platform: 'linux/arm64', cacheDisabled: true });
    expect(assets[0].destinations).toEqual([destinations.d]);
  });

  test('a member of the wrong type is an error naming the manifest and the member', () => {
    const { root, manifest } = assembly({ bad: { source: { directory: 'a', dockerBuildArgs: { A: 1 } }, destinations } }, { 'a/Dockerfile': '' });
    expect(() => readImageAssets(root, root, [manifest]))
      .toThrow("Cannot read the Docker image assets of 'app.assets.json': dockerImages.bad.source.dockerBuildArgs.A is not a string");
    const list = assembly([]);
    expect(() => readImageAssets(list.root, list.root, [list.manifest])).toThrow("Cannot read the Docker image assets of 'app.assets.json': dockerImages is not an object");
  });
});
