/**
 * The Lambda-shaped rows of `npm run bench`: the publisher (the bench harness, the bundled handler in a Node.js process
 * of its own) confined to core 0, as a function of 1,769 MB has one vCPU, publishing into an emulator confined to core
 * 1; beside it skopeo on core 0 into docker-registry on core 1. Without two cores and `taskset`, the same rows run
 * unconfined, and the report says so.
 */
import { CreateRepositoryCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { canConfineToTwoCores, confine, cpuOf, skopeoCopy, startEmulatorProcess } from './processes';
import { BenchImage, publishWithHandler } from './publishers';
import { OneCoreResult } from './report';
import { RunningRegistry, startDockerRegistry } from '../test/support/docker-registry';
import { ecrPublicClient, ServedEmulator, stopServedEmulator } from '../test/support/emulator-harness';

/** The publisher's core and the server's (as `taskset` CPU lists). */
const CLIENT_CORE = '0';
const SERVER_CORE = '1';

/** An emulator and a docker-registry of their own, on the server's core when the machine can confine them. */
export interface OneCoreServers {
  readonly emulator: ServedEmulator;
  readonly client: ECRPUBLICClient;
  readonly registry: RunningRegistry;
  /** Whether the processes are confined (two cores and `taskset`). */
  readonly confined: boolean;
}

export async function startOneCoreServers(dataDir: string, bucketDir: string): Promise<OneCoreServers> {
  const confined = canConfineToTwoCores();
  const emulator = await startEmulatorProcess(dataDir, bucketDir);
  let registry: RunningRegistry | undefined;
  try {
    registry = await startDockerRegistry();
    if (confined) {
      confine(emulator.child.pid!, SERVER_CORE);
      confine(registry.pid, SERVER_CORE);
    }
    return { emulator, client: ecrPublicClient(emulator.endpoint), registry, confined };
  } catch (err) {
    await registry?.stop();
    await stopServedEmulator(emulator);
    throw err;
  }
}

export async function stopOneCoreServers(servers: OneCoreServers | undefined): Promise<void> {
  if (!servers) return;
  servers.client.destroy();
  await stopServedEmulator(servers.emulator);
  await servers.registry.stop();
}

/** `image` published by the bench harness on the client's core, and copied by skopeo on the same core. */
export async function publishOnOneCore(servers: OneCoreServers, bucketDir: string, image: BenchImage, repositoryName: string, compress: boolean): Promise<OneCoreResult> {
  const cpus = servers.confined ? CLIENT_CORE : undefined;
  await servers.client.send(new CreateRepositoryCommand({ repositoryName }));
  const harness = await publishWithHandler(servers.emulator, bucketDir, image, repositoryName, compress, { cpus });
  const registryBefore = cpuOf(servers.registry.pid);
  const skopeo = await skopeoCopy(image.skopeoSource, `docker://${servers.registry.host}/${repositoryName}:bench`, [], cpus);
  return { harness, skopeo, registryCpu: cpuOf(servers.registry.pid) - registryBefore, confined: servers.confined };
}
