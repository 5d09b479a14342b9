/**
 * A real registry on loopback for the tests: Debian's `docker-registry` (distribution 2.8), with filesystem storage in
 * a temporary directory, anonymous or behind htpasswd basic auth. Images are put in it with skopeo.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { skopeo, skopeoCopy } from './skopeo';
import { makeTempDir } from './temp-dirs';
import { sha256 } from '../../src/shared/oci/digest';

/** A user of an htpasswd file: distribution accepts bcrypt hashes only. */
export interface HtpasswdUser {
  readonly username: string;
  readonly password: string;
  /** The bcrypt hash of `password`. */
  readonly bcrypt: string;
}

/**
 * The test user. The hash was made once with Python's crypt module (`crypt.crypt('s3cret-pass',
 * '$2b$05$abcdefghijklmnopqrstuu')`): a fixed value needs neither apache2-utils nor a bcrypt package at test time,
 * and the tests prove that the registry takes this password and refuses another.
 */
export const TEST_REGISTRY_USER: HtpasswdUser = {
  username: 'mirror',
  password: 's3cret-pass',
  bcrypt: '$2b$05$abcdefghijklmnopqrstuuV7fpPozvyqJfnY19y0802WTlXUm6Rjy',
};

export interface DockerRegistryOptions {
  /** Require HTTP basic auth with this user. */
  readonly htpasswd?: HtpasswdUser;
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The user, when the registry wants one. */
  readonly user?: HtpasswdUser;
  /** The registry's process id (the benchmark confines it to a core and reads its CPU time). */
  readonly pid: number;
  /** What the registry wrote on stderr so far (its log). */
  logs(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `docker-registry serve` on a free loopback port and waits until it answers `GET /v2/`. */
export async function startDockerRegistry(options: DockerRegistryOptions = {}): Promise<RunningRegistry> {
  let lastError: Error | undefined;
  // Another process may take the free port before the registry binds it: try again on a new one.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options, await freePort());
    } catch (err) {
      lastError = err as Error;
    }
  }
  throw lastError;
}

async function startOnce(options: DockerRegistryOptions, port: number): Promise<RunningRegistry> {
  const dir = makeTempDir('docker-registry-');
  const auth = options.htpasswd
    ? `auth:\n  htpasswd:\n    realm: test-registry\n    path: ${path.join(dir, 'htpasswd')}\n`
    : '';
  if (options.htpasswd) fs.writeFileSync(path.join(dir, 'htpasswd'), `${options.htpasswd.username}:${options.htpasswd.bcrypt}\n`);
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(config, [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'storage')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${sha256(dir).slice('sha256:'.length)}`,
    auth,
  ].join('\n'));

  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-64 * 1024);
  });
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    exited = `exit ${code ?? signal}`;
    resolve();
  }));
  child.once('error', (err) => {
    exited = String(err);
  });

  const stop = async (): Promise<void> => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exit, new Promise((r) => {
        timer = setTimeout(r, 5000);
      })]);
      clearTimeout(timer);
      if (exited === undefined) child.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (exited !== undefined) break;
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) {
        return { host: `127.0.0.1:${port}`, url, user: options.htpasswd, pid: child.pid!, logs: () => stderr, stop };
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`docker-registry did not start on port ${port} (${exited ?? 'no answer'}):\n${stderr}`);
}

function credsArgs(flag: string, registry: RunningRegistry): string[] {
  return registry.user ? [flag, `${registry.user.username}:${registry.user.password}`] : [];
}

/**
 * `skopeo copy oci:<layout>:<tag> docker://<registry>/<repository>:<tag>` (with the registry's user when it has one;
 * `--all` copies every image of an index). Returns the digest of the manifest stored (from `skopeo inspect --raw`).
 */
export async function pushToRegistry(registry: RunningRegistry, layout: string, layoutTag: string, repository: string, tag: string,
  options: { all?: boolean } = {}): Promise<string> {
  await skopeoCopy(`oci:${layout}:${layoutTag}`, `docker://${registry.host}/${repository}:${tag}`,
    [...credsArgs('--dest-creds', registry), ...(options.all ? ['--all'] : [])]);
  return rawDigest(registry, `${repository}:${tag}`);
}

/** The exact manifest bytes the registry serves for `repository:ref` (or `repository@digest`). */
export async function rawManifest(registry: RunningRegistry, ref: string): Promise<Buffer> {
  return skopeo(['inspect', '--raw', '--tls-verify=false', ...credsArgs('--creds', registry), `docker://${registry.host}/${ref}`]);
}

/** `sha256:` of what `rawManifest` returns. */
export async function rawDigest(registry: RunningRegistry, ref: string): Promise<string> {
  return sha256(await rawManifest(registry, ref));
}
