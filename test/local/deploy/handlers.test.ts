/**
 * End to end with stand-in handlers (a directory asset of plain JavaScript, as a bundled handler is): what a handler
 * gets (event, context, environment), and what the deployer makes of handlers that misbehave: no response, no response
 * in time, a response CloudFormation would refuse.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, CfnResource, Duration, Stack, aws_lambda as lambda } from 'aws-cdk-lib';
import { deployApp, destroyApp, LocalDeployError, RunningEmulator, startEmulator } from '../../../local';
import { makeTempDir } from '../../support/temp-dirs';

const HANDLER = `
async function respond(event, body) {
  const res = await fetch(event.ResponseURL, {
    method: 'PUT',
    headers: { 'content-type': '' },
    body: JSON.stringify({ StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId, ...body }),
  });
  await res.arrayBuffer();
}

exports.handler = async (event, context) => {
  const mode = event.ResourceProperties.Mode;
  console.log(JSON.stringify({ mode, requestType: event.RequestType }));
  if (mode === 'silent') return;
  if (mode === 'hang') return new Promise(() => undefined);
  if (mode === 'throw') throw new Error('boom before responding');
  if (mode === 'huge') return respond(event, { Status: 'SUCCESS', PhysicalResourceId: 'huge', Data: { Big: 'x'.repeat(5000) } });
  return respond(event, {
    Status: 'SUCCESS',
    PhysicalResourceId: 'echo-' + event.ResourceProperties.Value,
    Data: {
      Echo: event.ResourceProperties.Value,
      Region: process.env.AWS_REGION,
      EcrEndpoint: process.env.AWS_ENDPOINT_URL_ECR_PUBLIC,
      HasCredentials: String(Boolean(process.env.AWS_ACCESS_KEY_ID)),
      RequestType: event.RequestType,
      Old: event.OldResourceProperties ? event.OldResourceProperties.Value : '',
      ResponseUrlHost: new URL(event.ResponseURL).host,
      Function: context.functionName,
      RemainingPositive: String(context.getRemainingTimeInMillis() > 0),
    },
  });
};
`;

let tmp: string;
let emu: RunningEmulator;
let codeDir: string;

function synth(outdir: string, value: string): string {
  const app = new App({ outdir });
  for (const mode of ['silent', 'hang', 'throw', 'huge', 'echo']) {
    const stack = new Stack(app, `Fake-${mode}`, { env: { region: 'ap-southeast-2' } });
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(codeDir),
      timeout: Duration.seconds(1),
    });
    const first = new CfnResource(stack, 'First', { type: 'Custom::EcrPublicFake', properties: { ServiceToken: fn.functionArn, Mode: mode, Value: value } });
    // Its property is the first one's attribute: resolved from the first handler's response.
    new CfnResource(stack, 'Second', { type: 'Custom::EcrPublicFake', properties: { ServiceToken: fn.functionArn, Mode: mode, Value: first.getAtt('Echo') } });
  }
  // A run longer than the custom resource's service timeout.
  const slow = new Stack(app, 'Fake-slow', { env: { region: 'ap-southeast-2' } });
  const slowFn = new lambda.Function(slow, 'Fn', {
    runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromAsset(codeDir), timeout: Duration.seconds(30),
  });
  new CfnResource(slow, 'First', { type: 'Custom::EcrPublicFake', properties: { ServiceToken: slowFn.functionArn, ServiceTimeout: 1, Mode: 'hang', Value: value } });
  app.synth();
  return outdir;
}

async function failure(promise: Promise<unknown>): Promise<LocalDeployError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(LocalDeployError);
    return err as LocalDeployError;
  }
  throw new Error('expected the deploy to fail, but it succeeded');
}

beforeAll(async () => {
  tmp = makeTempDir('local-deploy-handlers-');
  codeDir = path.join(tmp, 'handler');
  fs.mkdirSync(codeDir);
  fs.writeFileSync(path.join(codeDir, 'index.js'), HANDLER);
  emu = await startEmulator({ iam: {} });
});

afterAll(async () => {
  await emu?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('stand-in handlers', () => {
  test('a handler gets the event, a Lambda context and its environment; attributes flow to dependants; Update sends the old properties', async () => {
    const dataDir = path.join(tmp, 'data-echo');
    const saved = process.env.AWS_ACCESS_KEY_ID;
    const deployed = await deployApp({ assemblyDir: synth(path.join(tmp, 'out-1'), 'one'), stackName: 'Fake-echo', dataDir, endpoint: emu.endpoint, log: () => undefined });
    expect(process.env.AWS_ACCESS_KEY_ID).toBe(saved);
    expect(deployed.resources.map((r) => [r.logicalId, r.action, r.physicalResourceId])).toEqual([
      ['First', 'created', 'echo-one'],
      ['Second', 'created', 'echo-one'],
    ]);
    const data = deployed.resources[0].data;
    expect(data).toMatchObject({
      Echo: 'one',
      Region: 'ap-southeast-2',
      EcrEndpoint: emu.endpoint,
      HasCredentials: 'true',
      RequestType: 'Create',
      Old: '',
      RemainingPositive: 'true',
    });
    expect(data.ResponseUrlHost).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(data.Function).toMatch(/^Fake-echo-Fn/);

    const updated = await deployApp({ assemblyDir: synth(path.join(tmp, 'out-2'), 'two'), stackName: 'Fake-echo', dataDir, endpoint: emu.endpoint, log: () => undefined });
    // A new physical id on Update is a replacement: the old one gets a Delete after the deploy.
    expect(updated.resources.map((r) => [r.logicalId, r.action, r.physicalResourceId])).toEqual([
      ['First', 'replaced', 'echo-two'],
      ['Second', 'replaced', 'echo-two'],
      ['Second', 'deleted', 'echo-one'],
      ['First', 'deleted', 'echo-one'],
    ]);
    expect(updated.resources[0].data).toMatchObject({ RequestType: 'Update', Old: 'one', Echo: 'two' });
    await destroyApp({ assemblyDir: path.join(tmp, 'out-2'), stackName: 'Fake-echo', dataDir, endpoint: emu.endpoint, log: () => undefined });
  });

  test.each([
    ['returns without responding', 'silent', /^the handler returned without sending a response$/, 1],
    // Lambda runs a failed or timed-out asynchronous event twice more.
    ['throws before responding', 'throw', /^the handler failed without sending a response: Error: boom before responding \(3 runs: Lambda runs a failed asynchronous invocation twice more\)$/, 3],
    ['outlives its timeout', 'hang', /^the handler did not finish within its timeout \(1 s\) \(3 runs: Lambda runs a failed asynchronous invocation twice more\)$/, 3],
    ['sends a response of 4096 bytes or more', 'huge', /^Response object is too long \(\d+ bytes; CloudFormation takes less than 4096\)$/, 1],
  ])('a handler that %s fails the deploy with a clear reason and its output', async (_what, mode, reason, runs) => {
    const lines: string[] = [];
    const outdir = path.join(tmp, `out-${mode}`);
    const err = await failure(deployApp({
      assemblyDir: synth(outdir, 'v'),
      stackName: `Fake-${mode}`,
      dataDir: path.join(tmp, `data-${mode}`),
      endpoint: emu.endpoint,
      log: (l) => lines.push(l),
      lambda: { retryDelaysMs: [10, 20] },
    }));
    expect(err.reason).toMatch(reason);
    expect(err.logicalId).toBe('First');
    expect(err.result.resources).toEqual([]);
    expect(lines.filter((l) => l.startsWith('    | ') && l.includes(`"mode":"${mode}"`))).toHaveLength(runs);
  });

  test('no answer within the resource\'s ServiceTimeout fails it then, as CloudFormation does, however long the function may run', async () => {
    const err = await failure(deployApp({
      assemblyDir: synth(path.join(tmp, 'out-slow'), 'v'), stackName: 'Fake-slow', dataDir: path.join(tmp, 'data-slow'), endpoint: emu.endpoint, log: () => undefined,
    }));
    expect(err.reason).toBe('no response within the custom resource\'s service timeout (1 s), after which CloudFormation fails the resource');
    expect(err.logicalId).toBe('First');
  });
});
