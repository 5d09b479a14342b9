/**
 * The deployer's side of the emulator's stand-ins for the bootstrap's ECR repositories, reached as cdk-assets reaches
 * ECR: credentials from the private ECR API's GetAuthorizationToken, then the registry API (which tags the stand-in
 * already holds; where the engine pushes).
 */
import { callEmulator, EmulatorTarget } from '../emulator-calls';

/** The emulator's registry: its host, and a password GetAuthorizationToken issued for it. */
export interface StandInRegistry {
  readonly host: string;
  readonly password: string;
  /** Whether the stand-in `repository` holds the tag `tag`. */
  holds(repository: string, tag: string): Promise<boolean>;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/**
 * Logs in to the registry of the emulator at `target` as its root (the password of the private ECR API's
 * GetAuthorizationToken, signed for `region`, as a client of that Region would sign it).
 */
export async function loginToStandIns(target: EmulatorTarget, region: string): Promise<StandInRegistry> {
  const { endpoint } = target;
  const host = new URL(endpoint).host;
  const password = await authorizationPassword(target, region);
  const authorization = `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}`;
  return {
    host,
    password,
    holds: async (repository, tag) => {
      const res = await fetch(`${endpoint}/v2/${repository}/manifests/${encodeURIComponent(tag)}`, {
        method: 'HEAD', headers: { authorization, accept: MANIFEST_TYPES }, signal: AbortSignal.timeout(10_000),
      });
      if (res.status === 200) return true;
      if (res.status === 404) return false;
      throw new Error(`The emulator at ${endpoint} answered HTTP ${res.status} to a look for ${repository}:${tag}`);
    },
  };
}

/** The password GetAuthorizationToken of the private ECR API gives (its token is base64 of `AWS:<password>`). */
async function authorizationPassword(target: EmulatorTarget, region: string): Promise<string> {
  const answer = await callEmulator(target, 'ecr', 'GetAuthorizationToken', {}, region) as { authorizationData?: Array<{ authorizationToken?: unknown }> };
  const token = answer.authorizationData?.[0]?.authorizationToken;
  const decoded = typeof token === 'string' ? Buffer.from(token, 'base64').toString('utf8') : '';
  if (!decoded.startsWith('AWS:')) {
    throw new Error(`The emulator at ${target.endpoint} gave no registry password for Docker image assets (GetAuthorizationToken answered ${JSON.stringify(answer).slice(0, 200)})`);
  }
  return decoded.slice('AWS:'.length);
}
