/**
 * Running a custom resource's shipped handler in-process, as Lambda would: the bundled `index.js` of the function's
 * code asset is `require()`d and its exported handler is called with a CloudFormation-shaped event and a Lambda-shaped
 * context, with the environment a handler sees (endpoints, region, credentials) set for the call and restored after it.
 * The outcome is whatever the handler PUT to its response URL. Invocations of one invoker may overlap (the deployer runs
 * independent resources at once): they share the environment, set while any of them runs, and each one's console lines
 * are told apart by the asynchronous context they are written from.
 */
import { AsyncLocalStorage } from 'async_hooks';
import { randomBytes, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { format } from 'util';
import { DeployerServer, MAX_RESPONSE_BYTES, ReceivedResponse } from './deployer-server';
import type { LambdaRuntime } from './lambda-runtime';
import type { RoleRecord } from './state';
import { dict } from '../dictionary';

/** A custom-resource request without the two fields the invoker fills in (`RequestId`, `ResponseURL`). */
export interface CustomResourceRequest {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ServiceToken: string;
  readonly StackId: string;
  readonly LogicalResourceId: string;
  readonly ResourceType: string;
  readonly ResourceProperties: Record<string, unknown>;
  readonly OldResourceProperties?: Record<string, unknown>;
  readonly PhysicalResourceId?: string;
}

/** The function settings Lambda would apply. */
export interface FunctionSettings {
  readonly timeoutSeconds: number;
  /** @default 128 */
  readonly memorySize?: number;
  readonly functionName: string;
  /**
   * The execution role the handler runs as: the invoker's `roles` give its credentials, as Lambda gives a function its
   * role's. @default - the environment's credentials (or dummy ones)
   */
  readonly role?: RoleRecord;
}

/** Which code runs, and the function settings Lambda would apply. */
export interface FunctionCode extends FunctionSettings {
  /** The directory holding the bundled code (`asset.<hash>` of the assembly, or the stored copy). */
  readonly codeDir: string;
  /** `<module>.<export>`, the function's `Handler`. */
  readonly entry: string;
  /**
   * Throws when the code must not be loaded or copied (code-trust.ts): called before either, so that a deploy that
   * runs no handler neither hashes the code nor loads what hashes it.
   * @default - nothing to check (the stored copy of code checked when it was copied)
   */
  readonly verify?: () => void;
}

/** The endpoints and region a handler gets through its environment. */
export interface HandlerEnvironment {
  readonly ecrPublicEndpoint: string;
  readonly s3Endpoint: string;
  readonly region: string;
  /** Lambda's endpoint, through which a handler invokes a function of its stack. @default - none set */
  readonly lambdaEndpoint?: string;
}

export interface InvocationResult {
  readonly status: 'SUCCESS' | 'FAILED';
  /** Why it failed: the handler's reason, or what was wrong with its response. */
  readonly reason?: string;
  readonly physicalResourceId?: string;
  readonly data: Record<string, string>;
  /** What the handler wrote to the console while it ran. */
  readonly logs: string[];
}

/** How a request is delivered (see `HandlerInvoker.invoke`). */
export interface Delivery {
  /** The RequestId to send: the one a request had when it is sent again. @default a new one */
  readonly requestId?: string;
  /** Called with the first response, checked, before the handler's PUT is answered. @default nothing */
  readonly onResponse?: (response: Omit<InvocationResult, 'logs'>) => void;
}

/** What an asynchronous invocation gave: the handler's return value, or its error. */
export interface EventInvocationResult {
  readonly result?: unknown;
  readonly error?: string;
  readonly logs: string[];
}

/** A Lambda function's handler, as a module exports it. */
export type LambdaHandler = (event: unknown, context: unknown, callback?: (err?: unknown, result?: unknown) => void) => unknown;

/** After the handler returned, how long a response it sent without waiting for it may take to arrive. */
export const LATE_RESPONSE_GRACE_MS = 500;

/** Dummy credentials for handlers when the environment has none: the emulator checks that requests are signed, not by whom. */
const DUMMY_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIDLOCALDEPLOY', AWS_SECRET_ACCESS_KEY: 'local-deploy-secret' };

/** Where an invoker gets the credentials of an execution role (the deployer: from the emulator, which IAM then asks). */
export interface RoleCredentialSource {
  /** The role's credentials; undefined when the emulator does not evaluate IAM (the environment's are used). */
  credentialsFor(role: RoleRecord): Promise<HandlerCredentials | undefined>;
}

export class HandlerInvoker {
  /** Invocations running now, and what puts the environment and the console back when the last one ends. */
  private running = 0;
  private restore?: () => void;
  private ready?: Promise<HandlerEnvironment | undefined>;

  constructor(
    private readonly server: DeployerServer,
    /**
     * The environment set for the handlers while they run, or what makes it ready before the first handler runs (the
     * deployer's asset endpoint starts then: a deploy that runs no handler never starts it); undefined: `process.env`
     * as it stands (the handler tests set it for a whole file, and change it for a test).
     */
    private readonly environment: HandlerEnvironment | (() => Promise<HandlerEnvironment>) | undefined,
    /** Called with each console line of a handler as it is written (verbose output). */
    private readonly onLog?: (line: string) => void,
    /** The credentials of each function's execution role. @default - the environment's credentials for every handler */
    private readonly roles?: RoleCredentialSource,
    /**
     * Delivers `invoke`'s requests as CloudFormation and Lambda do (retries, invocations, the service timeout).
     * @default - one run, answered or failed when it ends
     */
    private readonly runtime?: LambdaRuntime,
  ) {}

  /**
   * Runs the handler for `request` and returns its response. Invocations of this invoker may overlap; those of two
   * invokers (two environments) must not. `delivery.requestId` sends a request again under the id it had;
   * `delivery.onResponse` sees the response as it arrives, before the handler learns it was received.
   */
  public async invoke(code: FunctionCode, request: CustomResourceRequest, delivery: Delivery = {}): Promise<InvocationResult> {
    let handler: LambdaHandler;
    try {
      code.verify?.();
      handler = loadHandler(code.codeDir, code.entry);
    } catch (err) {
      return { status: 'FAILED', reason: `The handler could not be loaded: ${errorText(err)}`, data: {}, logs: [] };
    }
    if (this.runtime) return this.runtime.deliver(this, code, request, delivery);
    return this.invokeHandler(handler, code, request, delivery);
  }

  /**
   * `invoke` with a handler already loaded (the deployer loads the bundle; the handler tests pass the module's export
   * from source).
   */
  public async invokeHandler(
    handler: LambdaHandler, code: FunctionSettings, request: CustomResourceRequest, delivery: Delivery = {},
  ): Promise<InvocationResult> {
    const environment = await this.environmentReady();
    if (typeof environment === 'string') return { status: 'FAILED', reason: environment, data: {}, logs: [] };
    const credentials = await this.roleCredentials(code);
    if (typeof credentials === 'string') return { status: 'FAILED', reason: credentials, data: {}, logs: [] };
    const requestId = delivery.requestId ?? randomUUID();
    const event = { ...request, RequestId: requestId, ResponseURL: '' };
    const expected = this.server.expectResponse(requestId, delivery.onResponse && ((r) => delivery.onResponse!(checkResponse(r, event))));
    event.ResponseURL = expected.url;
    const logs: string[] = [];
    const deadline = Date.now() + code.timeoutSeconds * 1000;
    this.enter(environment);
    try {
      const sink: LogSink = { logs, onLog: this.onLog };
      // Lambda hands the handler an event parsed from JSON: plain objects, whatever the deployer's own are.
      const context = lambdaContext(code, request.ServiceToken, deadline);
      const settled = runInvocation(sink, credentials, () => runHandler(handler, JSON.parse(JSON.stringify(event)), context));
      const outcome = await firstOf(expected.response, settled, deadline);
      if (outcome.kind === 'response') {
        // As Lambda does, the function runs on until it returns or times out: work after the response (removing a
        // create marker) and its clients closing still need the environment, which changes back only then.
        await firstOf(new Promise<never>(() => undefined), settled, deadline);
        return { ...checkResponse(outcome.response, event), logs };
      }
      if (outcome.kind === 'settled') {
        const late = await firstOf(expected.response, new Promise<never>(() => undefined), Date.now() + LATE_RESPONSE_GRACE_MS);
        if (late.kind === 'response') return { ...checkResponse(late.response, event), logs };
        const why = outcome.error !== undefined
          ? `the handler failed without sending a response: ${errorText(outcome.error)}`
          : 'the handler returned without sending a response';
        return { status: 'FAILED', reason: why, data: {}, logs };
      }
      return { status: 'FAILED', reason: `the handler sent no response within its timeout (${code.timeoutSeconds} s)`, data: {}, logs };
    } finally {
      expected.cancel();
      this.leave();
    }
  }

  /**
   * Runs the handler with `event` as an asynchronous invocation would (EventBridge's, say): no response URL, the
   * handler's return value is the result. Invocations of this invoker may overlap, as `invoke`'s may.
   */
  public async invokeEvent(
    code: FunctionCode, event: unknown, functionArn: string, environment?: Readonly<Record<string, string>>,
  ): Promise<EventInvocationResult> {
    const logs: string[] = [];
    code.verify?.();
    const handler = loadHandler(code.codeDir, code.entry);
    const ready = await this.environmentReady();
    if (typeof ready === 'string') return { error: ready, logs };
    const credentials = await this.roleCredentials(code);
    if (typeof credentials === 'string') return { error: credentials, logs };
    const deadline = Date.now() + code.timeoutSeconds * 1000;
    this.enter(ready);
    try {
      const sink: LogSink = { logs, onLog: this.onLog };
      const settled = runInvocation(sink, credentials, () => runHandler(handler, event, lambdaContext(code, functionArn, deadline)), environment);
      const outcome = await firstOf(new Promise<never>(() => undefined), settled, deadline);
      if (outcome.kind !== 'settled') return { error: `the handler did not finish within its timeout (${code.timeoutSeconds} s)`, logs };
      return outcome.error !== undefined ? { error: errorText(outcome.error), logs } : { result: outcome.value, logs };
    } finally {
      this.leave();
    }
  }

  /** The handlers' environment, made ready once (undefined: `process.env` as it stands), or why it is not (a failure). */
  private async environmentReady(): Promise<HandlerEnvironment | undefined | string> {
    const given = this.environment;
    this.ready ??= typeof given === 'function' ? given() : Promise.resolve(given);
    try {
      return await this.ready;
    } catch (err) {
      this.ready = undefined;
      return `the handlers' environment could not be made ready: ${errorText(err)}`;
    }
  }

  /** The credentials of the function's role (undefined: the environment's), or why it has none (a failure). */
  private async roleCredentials(code: FunctionSettings): Promise<HandlerCredentials | undefined | string> {
    if (code.role === undefined || this.roles === undefined) return undefined;
    try {
      return await this.roles.credentialsFor(code.role);
    } catch (err) {
      return `the execution role ${code.role.arn} could not be given credentials: ${errorText(err)}`;
    }
  }

  /**
   * The first of overlapping invocations sets the handlers' environment, routes the console to each invocation's sink
   * and lets each invocation see its own role's credentials in `process.env`; the last one to finish puts all back.
   */
  private enter(environment: HandlerEnvironment | undefined): void {
    if (this.running++ > 0) return;
    const restoreEnv = environment ? applyHandlerEnvironment(environment) : () => undefined;
    const restoreConsole = routeConsole();
    const restoreOverlay = overlayEnvironment();
    this.restore = () => {
      restoreOverlay();
      restoreConsole();
      restoreEnv();
    };
  }

  private leave(): void {
    if (--this.running === 0) this.restore?.();
  }
}

/** Credentials for the handlers' SDK clients. */
export interface HandlerCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials' token, as Lambda gives a role's. @default - long-term credentials */
  readonly sessionToken?: string;
}

/**
 * Sets the environment a handler's SDK clients read (the endpoints, the region, credentials) in `process.env`; returns
 * what puts it back. Without `credentials`, those of the environment are kept, or dummy ones set when it has none.
 */
export function applyHandlerEnvironment(environment: HandlerEnvironment, credentials?: HandlerCredentials): () => void {
  const vars: Record<string, string | undefined> = {
    AWS_ENDPOINT_URL_ECR_PUBLIC: environment.ecrPublicEndpoint,
    // The emulator answers the private ECR API's GetAuthorizationToken too: the credentials for Docker image assets.
    AWS_ENDPOINT_URL_ECR: environment.ecrPublicEndpoint,
    AWS_ENDPOINT_URL_S3: environment.s3Endpoint,
    AWS_ENDPOINT_URL_LAMBDA: environment.lambdaEndpoint,
    AWS_REGION: environment.region,
    // This one would make the SDK ignore the endpoint variables above.
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
  };
  if (credentials) {
    Object.assign(vars, {
      AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_SESSION_TOKEN: credentials.sessionToken,
    });
  } else if (!process.env.AWS_ACCESS_KEY_ID || !process.env.AWS_SECRET_ACCESS_KEY) {
    Object.assign(vars, DUMMY_CREDENTIALS, { AWS_SESSION_TOKEN: undefined });
  }
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** `require()`s the handler module of `codeDir` and returns its export (`index.handler`: `index.js`, export `handler`). */
export function loadHandler(codeDir: string, entry: string): LambdaHandler {
  const dot = entry.lastIndexOf('.');
  if (dot <= 0) throw new Error(`the function's Handler '${entry}' is not <module>.<export>`);
  const modulePath = entry.slice(0, dot);
  const exportName = entry.slice(dot + 1);
  const root = fs.realpathSync(codeDir);
  const candidates = ['.js', '.cjs'].map((ext) => path.resolve(root, modulePath + ext));
  const given = candidates.find((f) => fs.existsSync(f));
  // The module's real path: a symbolic link must not lead require() out of the code directory.
  const file = given === undefined ? undefined : fs.realpathSync(given);
  if (!file || !file.startsWith(root + path.sep)) {
    const esm = fs.existsSync(path.resolve(root, `${modulePath}.mjs`)) ? ' (an ES module handler cannot be run in-process)' : '';
    const outside = given !== undefined ? ` (${path.relative(root, given)} leads outside it, to ${file})` : esm;
    throw new Error(`no ${modulePath}.js in ${codeDir}${outside}`);
  }
  // The bundle is plain CommonJS outside any TypeScript build: it can only be required.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== 'function') throw new Error(`${path.basename(file)} exports no function '${exportName}'`);
  return fn as LambdaHandler;
}

type Settled = { kind: 'settled'; error?: unknown; value?: unknown };
type Outcome = { kind: 'response'; response: ReceivedResponse } | Settled | { kind: 'timeout' };

/** Calls the handler (async, or with a callback) and resolves when it is done, never rejecting. */
function runHandler(handler: LambdaHandler, event: unknown, context: unknown): Promise<Settled> {
  return new Promise<Settled>((resolve) => {
    const callback = (err?: unknown, value?: unknown): void => resolve({ kind: 'settled', error: err ?? undefined, value });
    try {
      const result = handler(event, context, callback);
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then((value) => resolve({ kind: 'settled', value }), (err: unknown) => resolve({ kind: 'settled', error: err }));
      } else if (handler.length < 3) {
        resolve({ kind: 'settled' });
      }
    } catch (err) {
      resolve({ kind: 'settled', error: err });
    }
  });
}

/** Whichever comes first: the response, the handler settling, or the deadline. */
function firstOf(response: Promise<ReceivedResponse>, settled: Promise<Settled>, deadline: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), Math.max(0, deadline - Date.now()));
  });
  return Promise.race<Outcome>([
    response.then((r) => ({ kind: 'response' as const, response: r })),
    settled,
    timeout,
  ]).finally(() => clearTimeout(timer));
}

/** The response as CloudFormation would take it: malformed or mismatched answers are failures. */
export function checkResponse(received: ReceivedResponse, event: { RequestId: string; StackId: string; LogicalResourceId: string }): Omit<InvocationResult, 'logs'> {
  const failed = (reason: string): Omit<InvocationResult, 'logs'> => ({ status: 'FAILED', reason, data: {} });
  if (received.bytes >= MAX_RESPONSE_BYTES) return failed(`Response object is too long (${received.bytes} bytes; CloudFormation takes less than ${MAX_RESPONSE_BYTES})`);
  const body = received.body as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object') return failed(`the response is not a JSON object: ${received.raw.slice(0, 200)}`);
  for (const key of ['RequestId', 'StackId', 'LogicalResourceId'] as const) {
    if (body[key] !== event[key]) return failed(`the response's ${key} '${String(body[key])}' is not the request's '${event[key]}'`);
  }
  if (body.Status !== 'SUCCESS' && body.Status !== 'FAILED') return failed(`the response's Status '${String(body.Status)}' is neither SUCCESS nor FAILED`);
  const physicalResourceId = body.PhysicalResourceId;
  if (body.Status === 'FAILED') {
    return {
      status: 'FAILED',
      reason: typeof body.Reason === 'string' && body.Reason !== '' ? body.Reason : 'the handler answered FAILED without a reason',
      physicalResourceId: typeof physicalResourceId === 'string' ? physicalResourceId : undefined,
      data: {},
    };
  }
  if (typeof physicalResourceId !== 'string' || physicalResourceId === '' || physicalResourceId.length > 1024) {
    return failed(`Invalid PhysicalResourceId ${JSON.stringify(physicalResourceId)}`);
  }
  const data = dict<string>();
  if (body.Data !== undefined) {
    if (body.Data === null || typeof body.Data !== 'object' || Array.isArray(body.Data)) return failed('the response\'s Data is not an object');
    for (const [k, v] of Object.entries(body.Data)) data[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return { status: 'SUCCESS', physicalResourceId, data };
}

/** Where the console lines of one invocation go. */
interface LogSink {
  readonly logs: string[];
  readonly onLog?: (line: string) => void;
}

/** The invocation a console line is written from: the asynchronous context carries it through the handler's awaits. */
const consoleSinks = new AsyncLocalStorage<LogSink>();

/**
 * Replaces the console methods with a router to the sink of the invocation that writes (lines written outside any
 * invocation go to the console as before); returns what restores them.
 */
function routeConsole(): () => void {
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const target = console as unknown as Record<string, (...args: unknown[]) => void>;
  const originals = Object.fromEntries(methods.map((m) => [m, target[m]]));
  let forwarding = false;
  for (const m of methods) {
    target[m] = (...args: unknown[]) => {
      const sink = consoleSinks.getStore();
      // A log sink that is console.log itself reaches the original while a line is forwarded.
      if (!sink || forwarding) return originals[m].apply(console, args);
      const line = format(...args);
      sink.logs.push(line);
      if (sink.onLog) {
        forwarding = true;
        try {
          sink.onLog(line);
        } finally {
          forwarding = false;
        }
      }
    };
  }
  return () => {
    for (const m of methods) target[m] = originals[m];
  };
}

/**
 * The environment variables one invocation sees differently from the process (its role's credentials), carried by
 * the asynchronous context as the console sink is: handlers create their SDK clients per invocation, and the SDK reads
 * credentials from `process.env` when a client first signs, within the invocation's context.
 */
const environmentOverlays = new AsyncLocalStorage<ReadonlyMap<string, string | undefined>>();

/**
 * Runs `fn` as one invocation: its console lines to `sink`, its credentials (when given) and the variables of
 * `environment` (when given) in its `process.env`.
 */
function runInvocation<T>(
  sink: LogSink, credentials: HandlerCredentials | undefined, fn: () => T, environment?: Readonly<Record<string, string>>,
): T {
  const run = (): T => consoleSinks.run(sink, fn);
  if (credentials === undefined && environment === undefined) return run();
  const overlay = new Map<string, string | undefined>(Object.entries(environment ?? {}));
  if (credentials !== undefined) {
    overlay.set('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
    overlay.set('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey);
    overlay.set('AWS_SESSION_TOKEN', credentials.sessionToken);
    // A profile would not be read (the variables above come first), but must not be what a handler reports either.
    overlay.set('AWS_PROFILE', undefined);
  }
  return environmentOverlays.run(overlay, run);
}

/**
 * Replaces `process.env` with a view that shows each invocation its overlay (see `environmentOverlays`) and everyone
 * else the environment as it is (writes go to the environment); returns what puts the environment back.
 */
function overlayEnvironment(): () => void {
  const original = process.env;
  const overlayOf = (key: string | symbol): ReadonlyMap<string, string | undefined> | undefined => {
    const overlay = environmentOverlays.getStore();
    return typeof key === 'string' && overlay?.has(key) ? overlay : undefined;
  };
  process.env = new Proxy(original, {
    get: (target, key) => {
      const overlay = overlayOf(key);
      return overlay ? overlay.get(key as string) : Reflect.get(target, key);
    },
    has: (target, key) => {
      const overlay = overlayOf(key);
      return overlay ? overlay.get(key as string) !== undefined : Reflect.has(target, key);
    },
    getOwnPropertyDescriptor: (target, key) => {
      const overlay = overlayOf(key);
      if (!overlay) return Reflect.getOwnPropertyDescriptor(target, key);
      const value = overlay.get(key as string);
      return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
    },
    ownKeys: (target) => {
      const keys = new Set(Reflect.ownKeys(target));
      for (const [key, value] of environmentOverlays.getStore() ?? []) {
        if (value === undefined) keys.delete(key);
        else keys.add(key);
      }
      return [...keys];
    },
  });
  return () => {
    process.env = original;
  };
}

/** The Lambda context a handler gets. */
function lambdaContext(code: FunctionSettings, functionArn: string, deadline: number): Record<string, unknown> {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: code.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: String(code.memorySize ?? 128),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${code.functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
