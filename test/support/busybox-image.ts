/**
 * A base image for Dockerfile builds, made here since no registry outside can be pulled from: Debian's static busybox
 * (`busybox-static`) as `/bin/busybox` with `/bin/sh` linked to it, packed with umoci into an OCI layout that a
 * Dockerfile names as `FROM oci:<layout>:<tag>`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run } from './run-tool';
import { makeTempDir } from './temp-dirs';

const BUSYBOX = '/bin/busybox';

/**
 * Builds the layout `dir` (a lowercase path: buildah names the base image after it; see `makeLowercaseTempDir`) holding a busybox image tagged `tag` (linux/amd64, `PATH=/bin`); returns `oci:<dir>:<tag>`. */
export async function buildBusyboxImage(dir: string, tag: string): Promise<string> {
  if (!fs.existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: install Debian's busybox-static (apt-get install busybox-static)`);
  const ref = `${dir}:${tag}`;
  await run('umoci', ['init', '--layout', dir]);
  await run('umoci', ['new', '--image', ref]);
  const bundle = path.join(makeTempDir('busybox-bundle-'), 'bundle');
  try {
    await run('umoci', ['unpack', '--rootless', '--image', ref, bundle]);
    const bin = path.join(bundle, 'rootfs', 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.copyFileSync(BUSYBOX, path.join(bin, 'busybox'));
    fs.chmodSync(path.join(bin, 'busybox'), 0o755);
    fs.symlinkSync('busybox', path.join(bin, 'sh'));
    await run('umoci', ['repack', '--image', ref, bundle]);
  } finally {
    fs.rmSync(path.dirname(bundle), { recursive: true, force: true });
  }
  await run('umoci', ['config', '--image', ref, '--architecture', 'amd64', '--os', 'linux', '--config.env', 'PATH=/bin']);
  return `oci:${ref}`;
}
