/**
 * Custom-resource requests delivered as CloudFormation and Lambda deliver them (deployer side): CloudFormation invokes
 * the function asynchronously and waits for the answer on the response URL, for at most the resource's
 * `ServiceTimeout` (one hour by default), then fails the resource. Lambda stops a run at the function's `Timeout`, and
 * runs an event whose run failed or timed out twice more (one minute, then two minutes later). A handler may invoke a
 * function of the stack itself (`lambda-invoke-endpoint.ts`): that event is queued and run the same way, and the
 * request it carries (its `RequestId`) waits for it as for its own runs.
 *
 * Runs stay in the deployer's process (`HandlerInvoker.invokeEvent`): a run past its timeout is no longer waited for,
 * but what it has in flight is not torn down as Lambda's would be (its answer, should one come, is taken as
 * CloudFormation takes a late answer: the first one counts). A request no run is left to answer (every run returned,
 * none sent a response, nothing queued) fails at once rather than at the service timeout, with the reason
 * CloudFormation would give only an hour later.
 */
import { randomUUID } from 'crypto';
import type { DeployerServer } from './deployer-server';
import { checkResponse, CustomResourceRequest, Delivery, FunctionCode, HandlerInvoker, InvocationResult, LATE_RESPONSE_GRACE_MS } from './handler';

/** One run, as `LambdaRuntimeOptions.runEnvironment` sees it. */
export interface RunFacts {
  readonly functionArn: string;
  /** 1 for the first run of an event, 2 and 3 for Lambda's retries. */
  readonly attempt: number;
  readonly event: unknown;
}

/** How the deployer runs handlers as Lambda does. */
export interface LambdaRuntimeOptions {
  /**
   * The waits before Lambda's retries of a failed or timed-out asynchronous run (one per retry).
   * @default [60_000, 120_000]: Lambda's, one minute then two
   */
  readonly retryDelaysMs?: readonly number[];
  /**
   * Environment variables of one run on top of the handlers' (tests point a run's endpoints elsewhere to inject a
   * fault), given the function, the run's attempt (1 for the first) and the event.
   * @default - none
   */
  readonly runEnvironment?: (run: RunFacts) => Record<string, string> | undefined;
}

/** Lambda's waits before its two retries of an asynchronous event. */
const LAMBDA_RETRY_DELAYS_MS = [60_000, 120_000];

/** CloudFormation's default (and largest) service timeout of a custom resource, in seconds. */
export const DEFAULT_SERVICE_TIMEOUT_SECONDS = 3600;

/** A function of the stack a handler may invoke. */
interface KnownFunction {
  readonly code: FunctionCode;
  readonly invoker: HandlerInvoker;
}

/** The runs of one request: those running, those waiting for a retry, and why the last one failed. */
class RequestRuns {
  public pending = 0;
  public lastError?: string;
  public attempts = 0;
  public cancelled = false;
  public readonly logs: string[] = [];
  private idleWaiters: Array<() => void> = [];

  public begin(): void {
    this.pending++;
  }

  public end(): void {
    if (--this.pending > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when no run of the request runs or waits. */
  public idle(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

export class LambdaRuntime {
  private readonly functions = new Map<string, KnownFunction>();
  private readonly requests = new Map<string, RequestRuns>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly server: DeployerServer,
    private readonly options: LambdaRuntimeOptions = {},
    /** Where the runtime says what it does (a retry, an invocation). */
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /**
   * Sends `request` to the function of `code` as CloudFormation does, and returns the answer: the first response, or
   * FAILED when no run is left to answer or the service timeout passed.
   */
  public async deliver(invoker: HandlerInvoker, code: FunctionCode, request: CustomResourceRequest, delivery: Delivery): Promise<InvocationResult> {
    const functionArn = request.ServiceToken;
    this.functions.set(functionArn, { code, invoker });
    const requestId = delivery.requestId ?? randomUUID();
    const event = { ...request, RequestId: requestId, ResponseURL: '' };
    const expected = this.server.expectResponse(requestId, delivery.onResponse && ((r) => delivery.onResponse!(checkResponse(r, event))));
    event.ResponseURL = expected.url;
    const runs = new RequestRuns();
    this.requests.set(requestId, runs);
    const serviceTimeout = serviceTimeoutSeconds(request.ResourceProperties.ServiceTimeout);
    let timer: NodeJS.Timeout | undefined;
    try {
      this.enqueue(functionArn, event, runs);
      const outcome = await Promise.race([
        expected.response.then((response) => ({ kind: 'response' as const, response })),
        runs.idle().then(() => ({ kind: 'idle' as const })),
        new Promise<{ kind: 'timeout' }>((resolve) => {
          timer = setTimeout(() => resolve({ kind: 'timeout' }), serviceTimeout * 1000);
        }),
      ]);
      if (outcome.kind === 'response') {
        // As on Lambda, the run goes on after its answer (work after the response) until it returns or times out;
        // retries after the answer are not run (CloudFormation would ignore their answers).
        runs.cancelled = true;
        await runs.idle();
        return { ...checkResponse(outcome.response, event), logs: runs.logs };
      }
      if (outcome.kind === 'idle') {
        // A response sent without being waited for may still be on its way when the run returns.
        const late = await Promise.race([
          expected.response,
          new Promise<undefined>((resolve) => {
            const grace = setTimeout(() => resolve(undefined), LATE_RESPONSE_GRACE_MS);
            this.timers.add(grace);
          }),
        ]);
        if (late) return { ...checkResponse(late, event), logs: runs.logs };
      }
      if (outcome.kind === 'timeout') {
        runs.cancelled = true;
        return failed(`no response within the custom resource's service timeout (${serviceTimeout} s), after which CloudFormation fails the `
          + `resource${runs.lastError ? `; the last failed run: ${runs.lastError}` : ''}`, runs);
      }
      return failed(runs.lastError !== undefined
        ? `${runs.lastError} (${runs.attempts} runs: Lambda runs a failed asynchronous invocation twice more)`
        : 'the handler returned without sending a response', runs);
    } finally {
      clearTimeout(timer);
      expected.cancel();
      this.requests.delete(requestId);
    }
  }

  /**
   * Lambda's asynchronous Invoke of `functionArn` with `payload`: queued and run with Lambda's retries. False when the
   * function is not one the deployer runs.
   */
  public invokeAsync(functionArn: string, payload: unknown): boolean {
    if (!this.functions.has(functionArn)) return false;
    const requestId = typeof payload === 'object' && payload !== null ? (payload as { RequestId?: unknown }).RequestId : undefined;
    const runs = (typeof requestId === 'string' ? this.requests.get(requestId) : undefined) ?? new RequestRuns();
    this.log(`    invoked ${functionArn} asynchronously${typeof requestId === 'string' ? ` (request ${requestId})` : ''}`);
    this.enqueue(functionArn, payload, runs);
    return true;
  }

  /** Cancels the retries still waiting (the session closes). */
  public close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Runs `event`, and again after each of Lambda's waits while the runs fail. */
  private enqueue(functionArn: string, event: unknown, runs: RequestRuns): void {
    const fn = this.functions.get(functionArn)!;
    const delays = this.options.retryDelaysMs ?? LAMBDA_RETRY_DELAYS_MS;
    runs.begin();
    const attempt = async (n: number): Promise<void> => {
      if (runs.cancelled) return runs.end();
      runs.attempts++;
      const environment = this.options.runEnvironment?.({ functionArn, attempt: n, event });
      const run = await fn.invoker.invokeEvent(fn.code, event, functionArn, environment)
        .catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err), logs: [] as string[] }));
      runs.logs.push(...run.logs);
      if (run.error === undefined) return runs.end();
      runs.lastError = run.error.startsWith('the handler did not finish') ? run.error : `the handler failed without sending a response: ${run.error}`;
      if (n > delays.length || runs.cancelled) return runs.end();
      this.log(`    run ${n} of ${functionArn} failed (${run.error}): Lambda runs the event again in ${delays[n - 1]} ms`);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void attempt(n + 1);
      }, delays[n - 1]);
      this.timers.add(timer);
    };
    void attempt(1);
  }
}

function failed(reason: string, runs: RequestRuns): InvocationResult {
  return { status: 'FAILED', reason, data: {}, logs: runs.logs };
}

/** The resource's `ServiceTimeout` (1 to 3600 seconds, as text or a number), CloudFormation's default when absent. */
export function serviceTimeoutSeconds(value: unknown): number {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n >= 1 && n <= DEFAULT_SERVICE_TIMEOUT_SECONDS ? n : DEFAULT_SERVICE_TIMEOUT_SECONDS;
}
