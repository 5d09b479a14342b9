/**
 * Harness for the custom-resource handler tests: an emulator the handlers reach only through the SDK's standard
 * endpoint environment variables, event builders, and the local deployer's CloudFormation side (its response server,
 * its handler invoker and handler environment), so that a handler runs here as `ecr-public-local deploy` runs it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { IncomingHttpHeaders } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
// zlib.crc32: Node 20.15 and later, inside the package's engines (>= 20.16).
import { crc32, deflateSync } from 'node:zlib';
import { ECRPUBLICClient, PutImageCommand } from '@aws-sdk/client-ecr-public';
import { uploadLayerToEcrPublic } from '../../lambda/image-publisher/blob-uploader';
import type {
  CreateEvent,
  CustomResourceEvent,
  CustomResourceResponse,
  DeleteEvent,
  UpdateEvent,
} from '../../lambda/shared/cfn-response';
import { EmulatorOptions, RunningEmulator, startEmulator } from '../../local';
import { DeployerServer, RESPONSE_PREFIX } from '../../local/deploy/deployer-server';
import { applyHandlerEnvironment, CustomResourceRequest, FunctionSettings, HandlerInvoker, LambdaHandler } from '../../local/deploy/handler';
import { sha256 } from '../../src/shared/oci/digest';
import { OCI_MANIFEST } from '../../src/shared/oci/media-types';

/** The Region the handlers' Lambda pretends to run in: anything but us-east-1 proves the client ignores it. */
export const LAMBDA_REGION = 'eu-west-1';

/** A handler as exported by `lambda/<kind>/index.ts` (or the bundled asset). */
export type Handler<P> = (event: CustomResourceEvent<P>) => Promise<void>;

/** One PUT received on the response URL. */
export interface CapturedResponse {
  readonly headers: IncomingHttpHeaders;
  readonly bodyBytes: number;
  readonly body: CustomResourceResponse;
}

/** The running test environment; filled in by `beforeAll`. */
export interface HandlerHarness {
  emu: RunningEmulator;
  /** A client for the test's own checks (not the handlers'): us-east-1, explicit endpoint, no retries. */
  client: ECRPUBLICClient;
  /** Base of the response URLs, `http://127.0.0.1:PORT/_cfn-response/`. */
  responseBase: string;
  /** The deployer's invoker, running handlers against the emulator. */
  invoker: HandlerInvoker;
  /** Every PUT received, by response id. */
  responses: Map<string, CapturedResponse[]>;
  /** Response ids whose next PUT is answered by dropping the connection (to exercise the retries). */
  dropNext: Set<string>;
  /** Every line the handlers logged. */
  logs: string[];
  /** The account id of the emulator, used in the stack ids. */
  accountId: string;
}

/** The settings of the function the handlers run as (Lambda's longest timeout: a slow test fails on its own timeout). */
const TEST_FUNCTION: FunctionSettings = { functionName: 'handler-test', timeoutSeconds: 900, memorySize: 1024 };

/**
 * Starts an emulator and the deployer's response server in `beforeAll`, points the SDK's environment at the emulator,
 * and undoes it all in `afterAll`. `console.log` is captured into `logs`.
 */
export function useHandlerHarness(options: EmulatorOptions = {}): HandlerHarness {
  const h = { responses: new Map(), dropNext: new Set(), logs: [] as string[] } as unknown as HandlerHarness;
  let restoreEnv: (() => void) | undefined;
  let server: DeployerServer | undefined;

  beforeAll(async () => {
    h.emu = await startEmulator({ port: 0, ...options });
    h.accountId = h.emu.accountId;
    const environment = { ecrPublicEndpoint: h.emu.endpoint, s3Endpoint: h.emu.endpoint, region: LAMBDA_REGION };
    restoreEnv = applyHandlerEnvironment(environment, { accessKeyId: 'AKIDLAMBDATEST', secretAccessKey: 'lambda-test-secret' });
    h.client = new ECRPUBLICClient({
      region: 'us-east-1',
      endpoint: h.emu.endpoint,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    // CloudFormation's side of the pre-signed URL: every PUT recorded, or dropped when asked to.
    server = await DeployerServer.start((id, received) => {
      if (h.dropNext.delete(id)) return 'drop';
      const list = h.responses.get(id) ?? [];
      list.push({ headers: received.headers, bodyBytes: received.bytes, body: JSON.parse(received.raw) as CustomResourceResponse });
      h.responses.set(id, list);
      return 'accept';
    });
    h.responseBase = `${server.endpoint}${RESPONSE_PREFIX}`;
    // The environment set above, which a test may change, is the one the handlers see.
    h.invoker = new HandlerInvoker(server, undefined, (line) => h.logs.push(line));
  });

  beforeEach(() => {
    jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      h.logs.push(args.map(String).join(' '));
    });
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    h.client?.destroy();
    await server?.stop();
    await h.emu?.stop();
    for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    restoreEnv?.();
  });
  return h;
}

// ---------------------------------------------------------------------------------------------------------------
// Events

/** A stack id in the emulator's account, as CloudFormation sends it. */
export function stackId(accountId: string): string {
  return `arn:aws:cloudformation:${LAMBDA_REGION}:${accountId}:stack/handler-test/${randomUUID()}`;
}

/** The fields every request carries, as the handlers' own event types declare them. */
type EventBase = Omit<CreateEvent<unknown>, 'RequestType' | 'ResourceProperties'>;

function eventBase(h: HandlerHarness, resourceType: string): EventBase {
  const requestId = randomUUID();
  return {
    ServiceToken: `arn:aws:lambda:${LAMBDA_REGION}:${h.accountId}:function:handler-test`,
    ResponseURL: `${h.responseBase}${encodeURIComponent(requestId)}`,
    StackId: stackId(h.accountId),
    RequestId: requestId,
    LogicalResourceId: 'Resource',
    ResourceType: resourceType,
  };
}

function withToken<P>(props: P): P & { ServiceToken: string } {
  return { ServiceToken: 'token', ...props };
}

/** A Create request. */
export function createEvent<P>(h: HandlerHarness, resourceType: string, props: P): CreateEvent<P> {
  return { ...eventBase(h, resourceType), RequestType: 'Create', ResourceProperties: withToken(props) };
}

/** An Update request from `oldProps` to `props`. */
export function updateEvent<P>(h: HandlerHarness, resourceType: string, physicalResourceId: string, props: P, oldProps: P): UpdateEvent<P> {
  return {
    ...eventBase(h, resourceType),
    RequestType: 'Update',
    PhysicalResourceId: physicalResourceId,
    ResourceProperties: withToken(props),
    OldResourceProperties: withToken(oldProps),
  };
}

/** A Delete request. */
export function deleteEvent<P>(h: HandlerHarness, resourceType: string, physicalResourceId: string, props: P): DeleteEvent<P> {
  return { ...eventBase(h, resourceType), RequestType: 'Delete', PhysicalResourceId: physicalResourceId, ResourceProperties: withToken(props) };
}

/**
 * Runs the handler and returns the one response it PUT for this request. Fails when the handler sent none or several,
 * or when the response does not echo the request's ids.
 */
export async function invoke<P>(h: HandlerHarness, handler: Handler<P>, event: CustomResourceEvent<P>): Promise<CustomResourceResponse> {
  // The deployer's invoker sends the event to the same response URL (the request id names it).
  const { RequestId: requestId, ResponseURL: _url, ...request } = event;
  await h.invoker.invokeHandler(handler as LambdaHandler, TEST_FUNCTION, request as unknown as CustomResourceRequest, { requestId });
  const captured = h.responses.get(event.RequestId) ?? [];
  if (captured.length !== 1) throw new Error(`expected exactly one response for ${event.RequestType}, got ${captured.length}`);
  const body = captured[0].body;
  expect({ StackId: body.StackId, RequestId: body.RequestId, LogicalResourceId: body.LogicalResourceId })
    .toEqual({ StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId });
  return body;
}

/** Like `invoke`, and fails with the reason unless the response is SUCCESS. */
export async function invokeOk<P>(h: HandlerHarness, handler: Handler<P>, event: CustomResourceEvent<P>): Promise<CustomResourceResponse> {
  const res = await invoke(h, handler, event);
  if (res.Status !== 'SUCCESS') throw new Error(`${event.RequestType} failed: ${res.Reason}`);
  return res;
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

let counter = 0;
/** A unique, valid repository name. */
export function uniqueName(prefix = 'handler'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${randomBytes(3).toString('hex')}`;
}

/** A temporary directory removed by the caller. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Directories made by `tempDir`, removed when the harness of the test file stops. */
const tempDirs: string[] = [];

/** A real PNG (signature, IHDR, IDAT, IEND with valid CRCs) of `size`×`size` RGB pixels in `rgb`. */
export function makePng(size: number, rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typeAndData));
    return Buffer.concat([head, typeAndData, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: size }, () => rgb).flat())]);
  const pixels = Buffer.concat(Array.from({ length: size }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Uploads `data` as one blob with the image publisher's own layered upload (the one way blobs are uploaded here);
 * returns its digest.
 */
async function uploadTestBlob(client: ECRPUBLICClient, repositoryName: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  await uploadLayerToEcrPublic(client, repositoryName, {
    digest,
    size: data.length,
    open: async function* () {
      yield data;
    },
    verify: (streamed) => {
      if (streamed.digest !== digest) throw new Error(`streamed ${streamed.digest}, not ${digest}`);
    },
  });
  return digest;
}

/** Pushes a small OCI image (a config and one layer) tagged `tag`, so that the repository is not empty. */
export async function pushSmallImage(client: ECRPUBLICClient, repositoryName: string, tag: string): Promise<string> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(256);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await uploadTestBlob(client, repositoryName, config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await uploadTestBlob(client, repositoryName, layer), size: layer.length }],
  });
  const out = await client.send(new PutImageCommand({ repositoryName, imageManifest: manifest, imageTag: tag }));
  return out.image!.imageId!.imageDigest!;
}

/** The name of the error `promise` rejects with (fails when it resolves). */
export async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as Error).name;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
