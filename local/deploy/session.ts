/**
 * What a deploy or destroy runs against: the emulator (one already running at an endpoint, or one started in-process
 * on the data directory), its account, the deployment state store, the deployer's own server for response URLs, and
 * the endpoint serving asset objects.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { RunningEmulator } from '../server';
import { AssemblyStack, fillPlaceholders } from './assembly';
import { LazyAssetServer } from './asset-server';
import type { ServedObject } from './asset-server-process';
import { DeployerServer } from './deployer-server';
import { callEmulator, DEFAULT_ROOT_CREDENTIALS, EmulatorApiError, EmulatorTarget } from './emulator-calls';
import { HandlerInvoker } from './handler';
import { keepAndServeEarlierAssets } from './kept-assets';
import { INVOKE_PREFIX, lambdaInvokeEndpoint } from './lambda-invoke-endpoint';
import { LambdaRuntime } from './lambda-runtime';
import { EmulatorRoles } from './role-credentials';
import { StateStore } from './state';
import type { LocalDeployOptions } from './types';
import { storeHolder } from '../store/holder';
import { DirectoryLock } from '../store/lock';

export const DEFAULT_DATA_DIR = '.emulator-data';
export const DEFAULT_ACCOUNT = '123456789012';
/** The region of an environment-agnostic stack. */
export const DEFAULT_REGION = 'us-east-1';
/** A repository name nobody uses: looking it up tells the emulator's account. */
const ACCOUNT_PROBE = 'ecr-public-local/account-probe';

export interface Session {
  readonly endpoint: string;
  /** The emulator, and the root credentials the deployer calls it with. */
  readonly target: EmulatorTarget;
  readonly accountId: string;
  /** Set when the emulator runs in this process. */
  readonly emulator?: RunningEmulator;
  readonly dataDir: string;
  readonly state: StateStore;
  readonly server: DeployerServer;
  readonly log: (line: string) => void;
  readonly verbose: boolean;
  /** The invoker for handlers of a stack in `region`. */
  invoker(region: string): HandlerInvoker;
  /** Serves the stack's file assets under their bucket and key for `region`; returns the problems (assets not served). */
  serveAssets(stack: AssemblyStack, region: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Runs `work` in a session opened with `options`; then, however it ended, removes the stored handler code no state
 * refers to any more and closes the session.
 */
export async function withSession<T>(options: LocalDeployOptions, work: (session: Session) => Promise<T>): Promise<T> {
  const session = await openSession(options);
  try {
    return await work(session);
  } finally {
    try {
      session.state.collectCode();
    } finally {
      await session.close();
    }
  }
}

/**
 * Opens a session. One deploy, destroy or sweep at a time uses a data directory's deployment state (a second one is
 * refused, naming the first); without an endpoint, an emulator already serving the data directory (`serve --data`)
 * is used rather than a second one started on it.
 */
export async function openSession(options: LocalDeployOptions): Promise<Session> {
  const dataDir = path.resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const lock = DirectoryLock.acquire(path.join(dataDir, 'deployments', 'deploy.lock'), `The deployment state in ${dataDir}`);
  try {
    const session = await openLockedSession(options, dataDir);
    lock.setEndpoint(session.endpoint);
    return { ...session, close: () => session.close().finally(() => lock.release()) };
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function openLockedSession(options: LocalDeployOptions, dataDir: string): Promise<Session> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const endpointOption = options.endpoint ?? nonEmpty(process.env.AWS_ENDPOINT_URL_ECR_PUBLIC);
  let emulator: RunningEmulator | undefined;
  let endpoint: string;
  let accountId: string;
  const serving = endpointOption === undefined ? storeHolder(dataDir) : undefined;
  const credentials = options.rootCredentials ?? DEFAULT_ROOT_CREDENTIALS;
  if (endpointOption === undefined && serving?.endpoint === undefined) {
    // The deployer's own emulator always evaluates IAM: what deploys here must deploy on AWS.
    emulator = await startInProcess(dataDir, options.port, options.accountId, credentials);
    endpoint = emulator.endpoint;
    accountId = emulator.accountId;
  } else {
    endpoint = (endpointOption ?? serving!.endpoint!).replace(/\/+$/, '');
    if (serving) log(`Using the emulator that process ${serving.pid} serves on ${dataDir}: ${endpoint}`);
    accountId = await emulatorAccount({ endpoint, credentials }, options.accountId);
  }
  const target: EmulatorTarget = { endpoint, credentials };
  let roles: EmulatorRoles;
  try {
    roles = await EmulatorRoles.connect(target, log);
  } catch (err) {
    await emulator?.stop();
    throw err;
  }
  let server: DeployerServer;
  try {
    server = await DeployerServer.start();
  } catch (err) {
    await emulator?.stop();
    throw err;
  }
  // The S3 endpoint handlers use: the deployer's asset server, which serves the assembly's own file assets. Always:
  // an `AWS_ENDPOINT_URL_S3` of the environment (the emulator's README exports one for SDK and CLI users) is for
  // them, and holds no asset of the assembly. Started when a handler first runs.
  const assets = new LazyAssetServer(roles.evaluatesIam ? target : undefined);
  const verbose = options.verbose ?? false;
  const state = new StateStore(dataDir);
  // Handlers run as Lambda runs them, and may invoke the stack's functions through the deployer's server.
  const runtime = new LambdaRuntime(server, options.lambda, verbose ? log : undefined);
  server.mount(INVOKE_PREFIX, lambdaInvokeEndpoint(runtime, roles.evaluatesIam ? target : undefined));
  const lambdaEndpoint = server.endpoint;
  return {
    endpoint,
    target,
    accountId,
    emulator,
    dataDir,
    state,
    server,
    log,
    verbose,
    invoker: (region) => new HandlerInvoker(
      server,
      async () => ({ ecrPublicEndpoint: endpoint, s3Endpoint: await assets.endpoint(), region, lambdaEndpoint }),
      verbose ? (l) => log(`    | ${l}`) : undefined,
      roles,
      runtime,
    ),
    serveAssets: (stack, region) => serveFileAssets(assets, stack, accountId, region, state.dir),
    close: async () => {
      runtime.close();
      await assets.stop();
      await server.stop();
      await emulator?.stop();
    },
  };
}

/**
 * Serves the file assets of `stack` from `assets`, and those earlier deploys kept (for a rollback, see kept-assets.ts);
 * the problems of those not served.
 */
async function serveFileAssets(
  assets: LazyAssetServer, stack: AssemblyStack, accountId: string, region: string, stateDir: string,
): Promise<string[]> {
  const problems: string[] = [];
  const served: ServedObject[] = [];
  for (const asset of stack.assets) {
    if (asset.packaging !== 'file') continue;
    if (asset.problem) {
      problems.push(`asset ${asset.id} is not served: ${asset.problem}`);
      continue;
    }
    for (const d of asset.destinations) {
      const bucket = fillPlaceholders(d.bucketName, accountId, region);
      const key = fillPlaceholders(d.objectKey, accountId, region);
      await assets.addObject(bucket, key, asset.sourcePath);
      served.push({ bucket, key, file: asset.sourcePath });
    }
  }
  await keepAndServeEarlierAssets(assets, stateDir, served);
  return problems;
}

/**
 * Starts the emulator on `dataDir`. Without a port, it takes the port of its previous run on this data directory when
 * that port is free (repository URIs carry the port, so they stay the same from one deploy to the next), else any.
 */
async function startInProcess(
  dataDir: string, port: number | undefined, accountId: string | undefined, rootCredentials: EmulatorTarget['credentials'],
): Promise<RunningEmulator> {
  const iam = { rootCredentials };
  // Loaded only here: a deploy against an emulator that is already running has no use for the emulator's own code.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startEmulator } = require('../server') as typeof import('../server');
  const portFile = path.join(dataDir, 'deployments', 'emulator-port');
  const previous = port === undefined && fs.existsSync(portFile) ? Number(fs.readFileSync(portFile, 'utf8').trim()) : undefined;
  let emulator: RunningEmulator | undefined;
  if (previous !== undefined && Number.isInteger(previous) && previous > 0 && previous < 65536) {
    emulator = await startEmulator({ dataDir, port: previous, accountId, iam }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') return undefined;
      throw err;
    });
  }
  emulator ??= await startEmulator({ dataDir, port: port ?? 0, accountId, iam });
  if (port === undefined) {
    fs.mkdirSync(path.dirname(portFile), { recursive: true });
    fs.writeFileSync(portFile, `${emulator.port}\n`);
  }
  return emulator;
}

/**
 * The account of the emulator at `endpoint`: its registry's id when it has a registry; before that, the registry id a
 * lookup of an absent repository names (`... does not exist in the registry with id '<account>'`).
 */
async function emulatorAccount(target: EmulatorTarget, requested: string | undefined): Promise<string> {
  const { endpoint } = target;
  const registries = await callEmulator(target, 'ecr-public', 'DescribeRegistries', {}) as { registries?: Array<{ registryId?: string }> };
  let account = registries.registries?.[0]?.registryId;
  if (!account) {
    try {
      const out = await callEmulator(target, 'ecr-public', 'DescribeRepositories', { repositoryNames: [ACCOUNT_PROBE] }) as { repositories?: Array<{ registryId?: string }> };
      account = out.repositories?.[0]?.registryId;
    } catch (err) {
      if (!(err instanceof EmulatorApiError) || err.code !== 'RepositoryNotFoundException') throw err;
      account = /registry with id '([0-9]{12})'/.exec(err.message)?.[1];
    }
  }
  if (!account) return requested ?? DEFAULT_ACCOUNT;
  if (requested !== undefined && requested !== account) {
    throw new Error(`The emulator at ${endpoint} serves account ${account}, not ${requested} (--account-id)`);
  }
  return account;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
