/** The skopeo CLI, with plain-HTTP settings for registries on loopback (`docker://` references). */
import { RunOptions, run } from './run-tool';
import { sha256 } from '../../src/shared/oci/digest';

/** Runs `skopeo --insecure-policy args...` (no signature policy file needed); returns stdout as raw bytes. */
export async function skopeo(args: readonly string[], options: RunOptions = {}): Promise<Buffer> {
  return (await run('skopeo', ['--insecure-policy', ...args], { timeoutMs: 90_000, ...options })).stdout;
}

function isDocker(ref: string): boolean {
  return ref.startsWith('docker://');
}

/** `skopeo inspect --raw REF`: the exact manifest bytes (plain HTTP allowed for docker:// refs). */
export async function skopeoInspectRaw(ref: string): Promise<Buffer> {
  return skopeo(['inspect', '--raw', ...(isDocker(ref) ? ['--tls-verify=false'] : []), ref]);
}

/** sha256 of `skopeo inspect --raw REF`: the digest of the manifest skopeo sees for REF. */
export async function skopeoRawDigest(ref: string): Promise<string> {
  return sha256(await skopeoInspectRaw(ref));
}

/**
 * `skopeo inspect REF` parsed (plain HTTP allowed for docker:// refs). For an index, skopeo picks the child of
 * `platform` (default: the host's); `Digest` in the answer is still the digest of the manifest REF names.
 */
export async function skopeoInspect(ref: string, platform?: { architecture: string; os?: string }): Promise<any> {
  const global = platform ? ['--override-arch', platform.architecture, '--override-os', platform.os ?? 'linux'] : [];
  const out = await skopeo([...global, 'inspect', ...(isDocker(ref) ? ['--tls-verify=false'] : []), ref]);
  return JSON.parse(out.toString('utf8'));
}

/** `skopeo copy SRC DST` with `--src-tls-verify=false` / `--dest-tls-verify=false` for docker:// ends. */
export async function skopeoCopy(src: string, dst: string, extra: readonly string[] = []): Promise<string> {
  const args = ['copy'];
  if (isDocker(src)) args.push('--src-tls-verify=false');
  if (isDocker(dst)) args.push('--dest-tls-verify=false');
  const out = await skopeo([...args, ...extra, src, dst]);
  return out.toString('utf8');
}

/** `skopeo list-tags docker://HOST/NAME` → the tags. */
export async function skopeoListTags(ref: string): Promise<string[]> {
  const out = await skopeo(['list-tags', ...(isDocker(ref) ? ['--tls-verify=false'] : []), ref]);
  const parsed = JSON.parse(out.toString('utf8')) as { Tags?: string[] };
  return parsed.Tags ?? [];
}
