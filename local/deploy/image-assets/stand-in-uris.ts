/**
 * Where a handler finds a Docker image asset. On AWS its URI names the bootstrap's private ECR repository
 * (`<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`); here the image is in the emulator's stand-in for
 * that repository, on the emulator's registry host. The deployer gives handlers the emulator's URI in place of each
 * asset's URI, as it gives them the asset server's endpoint for S3: the handler copies from what it is given, through
 * the same code (and with the same `ecr:GetAuthorizationToken` credentials, from the emulator) as on AWS.
 */
import { fillPlaceholders } from '../assembly';
import type { AssemblyStack } from '../assembly';

/** The image URIs of `stack`'s Docker image assets on AWS, each to its stand-in on the emulator's `registryHost`. */
export function standInImageUris(stack: AssemblyStack, accountId: string, region: string, registryHost: string): Map<string, string> {
  const uris = new Map<string, string>();
  for (const asset of stack.imageAssets) {
    for (const d of asset.destinations) {
      const image = `${fillPlaceholders(d.repositoryName, accountId, region)}:${fillPlaceholders(d.imageTag, accountId, region)}`;
      uris.set(`${accountId}.dkr.ecr.${region}.amazonaws.com/${image}`, `${registryHost}/${image}`);
    }
  }
  return uris;
}

/** `value` with every string that is a key of `uris` replaced by its value (resolved properties: JSON data). */
export function withStandInUris<T>(value: T, uris: ReadonlyMap<string, string>): T {
  if (uris.size === 0) return value;
  const replace = (v: unknown): unknown => {
    if (typeof v === 'string') return uris.get(v) ?? v;
    if (Array.isArray(v)) return v.map(replace);
    if (v !== null && typeof v === 'object') {
      const out = Object.create(null) as Record<string, unknown>;
      for (const [k, inner] of Object.entries(v)) out[k] = replace(inner);
      return out;
    }
    return v;
  };
  return replace(value) as T;
}
