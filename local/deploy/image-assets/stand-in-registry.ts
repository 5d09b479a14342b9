/**
 * The deployer's side of the emulator's stand-ins for the bootstrap's ECR repositories, reached as cdk-assets reaches
 * ECR: credentials from the private ECR API's GetAuthorizationToken, then the registry API (which tags the stand-in
 * already holds; where the engine pushes).
 */
import { withRetries } from '../retry';

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

class NoAnswer extends Error {}

/** Logs in to the registry of the emulator at `endpoint` (signing for `region`, as a client of that Region would). */
export async function loginToStandIns(endpoint: string, region: string): Promise<StandInRegistry> {
  const host = new URL(endpoint).host;
  const password = await withRetries(() => authorizationPassword(endpoint, region), (err) => err instanceof NoAnswer);
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

/** GetAuthorizationToken of the private ECR API, signed with a placeholder: the emulator checks the scope only. */
async function authorizationPassword(endpoint: string, region: string): Promise<string> {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  let res: Response;
  let text: string;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken',
        'Authorization': `AWS4-HMAC-SHA256 Credential=local/${day}/${region}/ecr/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: '{}',
      signal: AbortSignal.timeout(10_000),
    });
    text = await res.text();
  } catch (err) {
    throw new NoAnswer(`No emulator answers GetAuthorizationToken at ${endpoint}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let token: unknown;
  try {
    const answer = res.ok ? JSON.parse(text) as { authorizationData?: Array<{ authorizationToken?: unknown }> } : undefined;
    token = answer?.authorizationData?.[0]?.authorizationToken;
  } catch {
    token = undefined;
  }
  const decoded = typeof token === 'string' ? Buffer.from(token, 'base64').toString('utf8') : '';
  if (!decoded.startsWith('AWS:')) {
    throw new Error(`The emulator at ${endpoint} gave no registry password for Docker image assets (GetAuthorizationToken answered HTTP ${res.status}: ${text.slice(0, 200)})`);
  }
  return decoded.slice('AWS:'.length);
}
