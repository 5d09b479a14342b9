/**
 * The deployer's Lambda Invoke endpoint, as a client sees it: what it refuses (and with which of Lambda's errors),
 * and that under IAM an unsigned call is refused by the emulator's decision. The invocations it accepts are covered end
 * to end by long-publish.test.ts.
 */
import { RunningEmulator, startEmulator } from '../../../local';
import { DeployerServer } from '../../../local/deploy/deployer-server';
import { DEFAULT_ROOT_CREDENTIALS } from '../../../local/deploy/emulator-calls';
import { INVOKE_PREFIX, lambdaInvokeEndpoint } from '../../../local/deploy/lambda-invoke-endpoint';
import { LambdaRuntime } from '../../../local/deploy/lambda-runtime';

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:Stack-Fn';

let server: DeployerServer;
let emulator: RunningEmulator;

beforeAll(async () => {
  server = await DeployerServer.start();
  emulator = await startEmulator({ iam: {} });
});

afterAll(async () => {
  await server?.stop();
  await emulator?.stop();
});

interface Answer {
  readonly status: number;
  readonly type: string | null;
  readonly message: string;
}

async function invoke(path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${server.endpoint}${path}`, { method: 'POST', ...init });
  const body = await res.text();
  return { status: res.status, type: res.headers.get('x-amzn-errortype'), message: body ? (JSON.parse(body) as { message: string }).message : '' };
}

describe('without IAM', () => {
  beforeAll(() => server.mount(INVOKE_PREFIX, lambdaInvokeEndpoint(new LambdaRuntime(server), undefined)));

  test.each([
    ['a synchronous invocation', `${INVOKE_PREFIX}${encodeURIComponent(ARN)}/invocations`, { 'x-amz-invocation-type': 'RequestResponse' }, '{}',
      400, 'InvalidParameterValueException', /asynchronous invocations only/],
    ['a function the deployer does not run', `${INVOKE_PREFIX}${encodeURIComponent(ARN)}/invocations`, { 'x-amz-invocation-type': 'Event' }, '{}',
      404, 'ResourceNotFoundException', /Function not found: arn:aws:lambda:/],
    ['a payload that is not JSON', `${INVOKE_PREFIX}${encodeURIComponent(ARN)}/invocations`, { 'x-amz-invocation-type': 'Event' }, '{',
      400, 'InvalidRequestContentException', /Could not parse request body into json/],
    ['a payload over 256 KB', `${INVOKE_PREFIX}${encodeURIComponent(ARN)}/invocations`, { 'x-amz-invocation-type': 'Event' }, `"${'x'.repeat(300 * 1024)}"`,
      413, 'RequestTooLargeException', /larger than 262144 bytes/],
    ['another path', `${INVOKE_PREFIX}${encodeURIComponent(ARN)}/configuration`, { 'x-amz-invocation-type': 'Event' }, '{}',
      404, 'ResourceNotFoundException', /No Lambda operation/],
  ])('refused: %s', async (_what, path, headers, body, status, type, message) => {
    const answer = await invoke(path, { headers, body });
    expect(answer).toEqual({ status, type, message: expect.stringMatching(message) });
  });
});

describe('under IAM', () => {
  test('an unsigned invocation is refused as Lambda refuses it, by the emulator\'s decision', async () => {
    const iamServer = await DeployerServer.start();
    try {
      const target = { endpoint: emulator.endpoint, credentials: DEFAULT_ROOT_CREDENTIALS };
      iamServer.mount(INVOKE_PREFIX, lambdaInvokeEndpoint(new LambdaRuntime(iamServer), target));
      const res = await fetch(`${iamServer.endpoint}${INVOKE_PREFIX}${encodeURIComponent(ARN)}/invocations`, {
        method: 'POST', headers: { 'x-amz-invocation-type': 'Event' }, body: '{}',
      });
      expect(res.status).toBe(403);
      expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
      await res.arrayBuffer();
    } finally {
      await iamServer.stop();
    }
  });
});
