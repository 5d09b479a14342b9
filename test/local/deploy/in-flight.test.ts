/**
 * The in-flight record of a request (local/deploy/in-flight.ts) while resources are deployed side by side: every save
 * writes the whole state, so a save by another resource between a request's response and the save that applies its
 * outcome must still find the request recorded. Otherwise a kill right after that save leaves a state that knows
 * neither the request nor the resource it created: the next run sends a new Create, which meets a repository it cannot
 * tell for its own.
 *
 * A real handler module answers through the deployer's own response server (sockets, as in a deploy).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DeployerServer } from '../../../local/deploy/deployer-server';
import { FunctionCode, HandlerInvoker } from '../../../local/deploy/handler';
import { applyOutcome, forgetRequest, newRequest, sendRecorded } from '../../../local/deploy/in-flight';
import type { Session } from '../../../local/deploy/session';
import { HandlerRef, StateStore } from '../../../local/deploy/state';
import { makeTempDir } from '../../support/temp-dirs';

const HANDLER = `
exports.handler = async (event) => {
  const res = await fetch(event.ResponseURL, {
    method: 'PUT',
    headers: { 'content-type': '' },
    body: JSON.stringify({
      Status: 'SUCCESS', PhysicalResourceId: 'thing-' + event.ResourceProperties.Name, Data: { Name: event.ResourceProperties.Name },
      StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId,
    }),
  });
  await res.arrayBuffer();
};
`;

const STACK = 'InFlight';
const REF: HandlerRef = { functionLogicalId: 'Fn', codeHash: 'test-code', entry: 'index.handler', timeoutSeconds: 10 };

let tmp: string;
let server: DeployerServer;
let code: FunctionCode;

beforeAll(async () => {
  tmp = makeTempDir('local-deploy-in-flight-');
  const codeDir = path.join(tmp, 'code');
  fs.mkdirSync(codeDir);
  fs.writeFileSync(path.join(codeDir, 'index.js'), HANDLER);
  code = { codeDir, entry: REF.entry, timeoutSeconds: REF.timeoutSeconds, functionName: 'fn' };
  server = await DeployerServer.start();
});

afterAll(async () => {
  await server?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function createRequest(stackId: string, logicalId: string, name: string): ReturnType<typeof newRequest> {
  const properties = { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:fn', Name: name };
  return newRequest({
    request: {
      RequestType: 'Create',
      ServiceToken: properties.ServiceToken,
      StackId: stackId,
      LogicalResourceId: logicalId,
      ResourceType: 'Custom::EcrPublicFake',
      ResourceProperties: properties,
    },
    handler: REF,
    resource: { type: 'Custom::EcrPublicFake', properties, dependsOn: [], handler: REF },
  });
}

test('a request answered but not yet applied stays recorded through another resource\'s save', async () => {
  const store = new StateStore(path.join(tmp, 'data'));
  const state = store.loadOrCreate(STACK, '123456789012', 'us-east-1');
  // sendRecorded reads nothing of the session but its state store.
  const session = { state: store } as unknown as Session;
  const invoker = new HandlerInvoker(server, { ecrPublicEndpoint: 'http://127.0.0.1:1', s3Endpoint: server.endpoint, region: 'us-east-1' });
  const request = createRequest(state.stackId, 'First', 'one');

  const response = await sendRecorded(session, state, invoker, code, request);
  expect(response).toMatchObject({ status: 'SUCCESS', physicalResourceId: 'thing-one' });

  // Another resource, deployed side by side, records its outcome now: the whole state is written.
  store.save(state);
  // Killed here, the file must still hold the request (with its response), to be re-sent, or its outcome.
  const between = store.load(STACK)!;
  expect(between.resources.has('First')).toBe(false);
  expect(between.inFlight.map((r) => [r.requestId, r.response?.physicalResourceId])).toEqual([[request.requestId, 'thing-one']]);

  // The caller forgets it in the same write that applies its outcome.
  forgetRequest(state, request);
  applyOutcome(state, 'First', request.resource!, response.physicalResourceId!, response.data);
  store.save(state);
  const after = store.load(STACK)!;
  expect(after.inFlight).toEqual([]);
  expect(after.resources.get('First')?.physicalResourceId).toBe('thing-one');
});

test('a failed request is forgotten and saved at once (it has no outcome to apply)', async () => {
  const store = new StateStore(path.join(tmp, 'data-failed'));
  const state = store.loadOrCreate(STACK, '123456789012', 'us-east-1');
  const session = { state: store } as unknown as Session;
  const invoker = new HandlerInvoker(server, { ecrPublicEndpoint: 'http://127.0.0.1:1', s3Endpoint: server.endpoint, region: 'us-east-1' });
  const request = createRequest(state.stackId, 'Missing', 'two');
  const missing: FunctionCode = { ...code, codeDir: path.join(tmp, 'no-such-code') };

  const response = await sendRecorded(session, state, invoker, missing, request);
  expect(response.status).toBe('FAILED');
  expect(state.inFlight).toEqual([]);
  expect(store.load(STACK)!.inFlight).toEqual([]);
});
