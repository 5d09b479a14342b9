/**
 * Requests to handlers that survive the deployer being killed. Each request is written to the stack's state before the
 * handler runs, its first response is written as it arrives (before the handler hears it was received), and its
 * outcome is applied in the write that forgets it. A run that finds requests left by a killed run sends each again
 * under the same RequestId, as CloudFormation re-sends a request, before it does anything else for the stack: the
 * handlers recognise a request they already carried out (the repository handler, a repository it created for that
 * request), so the run ends where an uninterrupted one would have.
 */
import { randomUUID } from 'crypto';
import { applyRollbackOutcome } from './changes';
import { storedFunction } from './functions';
import type { FunctionCode, HandlerInvoker, InvocationResult } from './handler';
import type { Session } from './session';
import type { DeployedResource, DeploymentState, InFlightRequest } from './state';
import type { Progress } from './summary';
import type { ResourceAction } from './types';

/** A request about to be sent for the first time: the RequestId is chosen here. */
export function newRequest(fields: Omit<InFlightRequest, 'requestId' | 'response'>): InFlightRequest {
  return { requestId: randomUUID(), ...fields };
}

/**
 * Sends `request` with `code`: records it first (unless it is recorded already, when it is sent again), records its
 * first response as it arrives, and returns that first response. A success stays recorded: the caller forgets it
 * (`forgetRequest`) and applies its outcome in one synchronous step before its save. A failure is forgotten and saved
 * at once (it has no outcome to apply).
 */
export async function sendRecorded(
  session: Session, state: DeploymentState, invoker: HandlerInvoker, code: FunctionCode, request: InFlightRequest,
): Promise<InvocationResult> {
  if (!state.inFlight.includes(request)) {
    state.inFlight.push(request);
    session.state.save(state);
  }
  const result = await invoker.invoke(code, request.request, {
    requestId: request.requestId,
    onResponse: (response) => {
      if (request.response) return;
      request.response = response;
      session.state.save(state);
    },
  });
  // The first response counts, also when the request was sent again; a request killed before any response has this one.
  const outcome: InvocationResult = request.response ? { ...request.response, logs: result.logs } : result;
  // A success is not forgotten here: resources deployed side by side save the whole state whenever one of them
  // progresses, and one of those saves can come before the caller's (its `await` of this function resumes later). A
  // request dropped here would then be written neither as in flight nor as applied, and a kill at that moment would
  // lose what its handler created. The caller forgets it in the step that applies its outcome.
  if (outcome.status !== 'SUCCESS') {
    forgetRequest(state, request);
    session.state.save(state);
  }
  return outcome;
}

/** What a successful Create or Update did: recorded in the state (not saved), the replaced resource queued for deletion. */
export function applyOutcome(
  state: DeploymentState,
  logicalId: string,
  resource: Omit<DeployedResource, 'physicalResourceId' | 'data'>,
  physicalResourceId: string,
  data: Record<string, string>,
): { action: ResourceAction; replacedPhysicalResourceId?: string } {
  const previous = state.resources.get(logicalId);
  const isUpdate = previous !== undefined && previous.type === resource.type;
  // A new physical id (or a new type) is a replacement.
  const replaced = previous !== undefined && (!isUpdate || previous.physicalResourceId !== physicalResourceId);
  if (replaced) {
    // The old physical resource goes in the cleanup after the deploy (kept in the state until it is gone).
    state.pendingDeletes.push({ ...previous, logicalId, updateReplacePolicy: resource.updateReplacePolicy });
  }
  state.resources.set(logicalId, { ...resource, physicalResourceId, data });
  return {
    action: previous === undefined ? 'created' : replaced ? 'replaced' : 'updated',
    ...(replaced ? { replacedPhysicalResourceId: previous.physicalResourceId } : {}),
  };
}

/** Drops from the state the resource a successful Delete removed (not saved). */
export function applyDeletion(state: DeploymentState, request: InFlightRequest): void {
  const { LogicalResourceId: logicalId, PhysicalResourceId: physicalId } = request.request;
  if (request.deletion === 'replaced') {
    const index = state.pendingDeletes.findIndex((p) => p.logicalId === logicalId && p.physicalResourceId === physicalId);
    if (index >= 0) state.pendingDeletes.splice(index, 1);
  } else if (state.resources.get(logicalId)?.physicalResourceId === physicalId) {
    state.resources.delete(logicalId);
  }
}

/**
 * Sends again every request a killed run left in the stack's state, with the code it was first sent with (its stored
 * copy), and applies the outcomes. A request that fails now is reported and forgotten: the run goes on and sends what
 * the template asks for.
 */
export async function completeInFlight(session: Session, progress: Progress, state: DeploymentState, invoker: HandlerInvoker): Promise<void> {
  for (const request of [...state.inFlight]) {
    const { LogicalResourceId: logicalId, RequestType: requestType, ResourceType: type } = request.request;
    progress.note(`re-sending  ${logicalId}  ${type}  ${requestType} (request ${request.requestId}, interrupted before its outcome was recorded)`);
    let code: FunctionCode;
    try {
      code = storedFunction(session.state, request.handler, state.stackName);
    } catch (err) {
      state.inFlight = state.inFlight.filter((r) => r !== request);
      session.state.save(state);
      progress.note(`warning: ${logicalId}: the interrupted ${requestType} cannot be sent again: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    const result = await sendRecorded(session, state, invoker, code, request);
    if (result.status !== 'SUCCESS') {
      progress.note(`warning: ${logicalId}: the interrupted ${requestType} failed when sent again: ${result.reason ?? 'FAILED'}`);
      continue;
    }
    forgetRequest(state, request);
    if (request.rollback) {
      const undone = applyRollbackOutcome(state, request, result.physicalResourceId, result.data);
      session.state.save(state);
      progress.outcome({
        stackName: state.stackName, logicalId, type, action: 'rolled back', physicalResourceId: request.request.PhysicalResourceId ?? '', data: result.data, ...undone,
      });
    } else if (request.request.RequestType === 'Delete') {
      applyDeletion(state, request);
      session.state.save(state);
      progress.outcome({
        stackName: state.stackName,
        logicalId,
        type,
        action: 'deleted',
        physicalResourceId: request.request.PhysicalResourceId!,
        data: {},
        reason: request.deletion,
      });
    } else if (request.resource && result.physicalResourceId !== undefined) {
      const applied = applyOutcome(state, logicalId, request.resource, result.physicalResourceId, result.data);
      session.state.save(state);
      progress.outcome({
        stackName: state.stackName, logicalId, type, physicalResourceId: result.physicalResourceId, data: result.data, ...applied,
      });
    } else {
      session.state.save(state);
    }
  }
}

/** Drops a request whose outcome is applied, in the same synchronous step as applying it (not saved). */
export function forgetRequest(state: DeploymentState, request: InFlightRequest): void {
  state.inFlight = state.inFlight.filter((r) => r !== request);
}
