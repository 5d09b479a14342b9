/**
 * Helpers for the registry push API tests: an emulator with repositories, push credentials from
 * GetAuthorizationToken, raw registry requests and their error bodies.
 */
import {
  BatchCheckLayerAvailabilityCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  ECRPUBLICClient,
  ImageDetail,
  LayerAvailability,
} from '@aws-sdk/client-ecr-public';
import { sha256 } from '../../../src/shared/oci/digest';
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST } from '../../../src/shared/oci/media-types';
import {
  basicAuthorization, EmulatorOptions, InProcessEmulator, loginPassword, primaryRegistryAlias, RunningEmulator, startInProcess, stopInProcess,
} from '../../support/emulator-harness';
import { toolFailure } from '../../support/run-tool';
import { skopeo } from '../../support/skopeo';

export type { EmulatorOptions, RunningEmulator };
export { basicAuthorization as basic, loginPassword, OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP as OCI_LAYER, OCI_MANIFEST, sha256 };

export const MIB = 1024 * 1024;

export interface Harness extends InProcessEmulator {
  alias: string;
  /** A password issued by GetAuthorizationToken (user `AWS`). */
  password: string;
}

/** Starts an emulator, creates `repositories` and gets push credentials. */
export async function startHarness(repositories: readonly string[], options: EmulatorOptions = {}): Promise<Harness> {
  const { emu, client } = await startInProcess(options);
  for (const repositoryName of repositories) await client.send(new CreateRepositoryCommand({ repositoryName }));
  const alias = await primaryRegistryAlias(client);
  return { emu, client, alias, password: await loginPassword(client) };
}

export const stopHarness = stopInProcess;

/** The registry error codes of a response body (`{"errors": [{code, message, detail}]}`). */
export async function errorCodes(res: Response): Promise<string[]> {
  return (await errorBody(res)).map((e) => e.code);
}

export async function errorBody(res: Response): Promise<Array<{ code: string; message: string; detail: any }>> {
  const text = await res.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`error body is not JSON (status ${res.status}): ${text}`);
  }
  if (!Array.isArray(parsed.errors) || parsed.errors.length === 0) throw new Error(`no errors in ${text}`);
  for (const e of parsed.errors) {
    if (typeof e.code !== 'string' || typeof e.message !== 'string') throw new Error(`malformed error in ${text}`);
  }
  return parsed.errors;
}

/** DescribeImages of the whole repository. */
export async function describeImages(client: ECRPUBLICClient, repositoryName: string): Promise<ImageDetail[]> {
  return (await client.send(new DescribeImagesCommand({ repositoryName }))).imageDetails ?? [];
}

/** BatchCheckLayerAvailability of `digests`, by digest. */
export async function layerAvailability(client: ECRPUBLICClient, repositoryName: string, digests: string[]): Promise<Map<string, LayerAvailability>> {
  const out = await client.send(new BatchCheckLayerAvailabilityCommand({ repositoryName, layerDigests: digests }));
  if ((out.failures ?? []).length > 0) throw new Error(`BatchCheckLayerAvailability failures: ${JSON.stringify(out.failures)}`);
  return new Map((out.layers ?? []).map((l) => [l.layerDigest!, l.layerAvailability!]));
}

/** `skopeo copy` to or from the emulator over plain HTTP, with `--dest-creds AWS:<password>` when given. */
export async function skopeoPush(src: string, dst: string, creds: string | undefined, extra: readonly string[] = []): Promise<void> {
  await skopeo(['copy', '--dest-tls-verify=false', ...(creds !== undefined ? ['--dest-creds', creds] : []), ...extra, src, dst]);
}

/** The stderr of a skopeo run that must fail (the command line is left out: it carries the password). */
export function skopeoFailure(run: Promise<unknown>): Promise<string> {
  return toolFailure(run, 'skopeo');
}
