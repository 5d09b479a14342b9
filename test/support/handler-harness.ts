/**
 * Harness for the custom-resource handler tests: an emulator the handlers reach only through the SDK's standard
 * endpoint environment variables, event builders, and the local deployer's CloudFormation side (its response server,
 * its handler invoker and handler environment), so that a handler runs here as `ecr-public-local deploy` runs it.
 */
import { randomUUID } from 'node:crypto';
import { IncomingHttpHeaders } from 'node:http';
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { EmulatorOptions, RunningEmulator, startInProcess, stopInProcess } from './emulator-harness';
import type {
  CreateEvent,
  CustomResourceEvent,
  CustomResourceResponse,
  DeleteEvent,
  UpdateEvent,
} from '../../lambda/shared/cfn-response';
import { DeployerServer, RESPONSE_PREFIX } from '../../local/deploy/deployer-server';
import { applyHandlerEnvironment, CustomResourceRequest, FunctionSettings, HandlerInvoker, LambdaHandler } from '../../local/deploy/handler';

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
    ({ emu: h.emu, client: h.client } = await startInProcess(options, { maxAttempts: 1 }));
    h.accountId = h.emu.accountId;
    const environment = { ecrPublicEndpoint: h.emu.endpoint, s3Endpoint: h.emu.endpoint, region: LAMBDA_REGION };
    restoreEnv = applyHandlerEnvironment(environment, { accessKeyId: 'AKIDLAMBDATEST', secretAccessKey: 'lambda-test-secret' });
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
    await server?.stop();
    await stopInProcess(h);
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
