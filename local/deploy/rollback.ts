/**
 * Rolling back a stack's failed deploy, as CloudFormation rolls back a failed stack create or update: every resource
 * the deploy changed (`DeploymentState.changes`) returns to what the last completed deploy left. In reverse dependency
 * order, a resource the deploy created (or whose Create failed) gets a Delete, and one it updated (or whose Update
 * failed) an Update back: the properties and handler code it had as ResourceProperties, what it was given as
 * OldResourceProperties, its physical id. Then, as CloudFormation's rollback cleanup does, the new resource of each
 * replacement gets a Delete and the old one, which the deploy kept, is the resource again. A DeletionPolicy Retain keeps
 * what a rollback would delete (RetainExceptOnCreate does not: the resource was created by the deploy rolled back).
 *
 * The rollback is recorded in the state before its first request (`rollback`), each step's request in flight like a
 * deploy's, and each step's outcome in the write that forgets the step: a rollback that fails stops there, and a killed
 * one is continued by the next deploy before it deploys anything (as `continue-update-rollback`).
 */
import { applyUndone, applyUpdatedBack, rollbackStep, RollbackStep } from './changes';
import { keptByHandler } from './deletion';
import { storedFunction } from './functions';
import { dependencyOrder } from './graph';
import type { CustomResourceRequest, FunctionCode, HandlerInvoker } from './handler';
import { forgetRequest, newRequest, sendRecorded } from './in-flight';
import type { Session } from './session';
import type { DeployedResource, DeploymentState } from './state';
import type { Progress } from './summary';
import type { RollbackReport } from './types';

export interface RollbackContext {
  readonly session: Session;
  readonly progress: Progress;
  readonly state: DeploymentState;
  readonly region: string;
}

/**
 * Rolls back the changes the state records, or continues the rollback it records (`continued`); `cause` is the deploy's
 * first failure. Resolves with what became of them (never rejects on a handler's failure: it is the report's).
 */
export async function rollBack(ctx: RollbackContext, cause: string, continued: boolean): Promise<RollbackReport> {
  const { session, progress, state } = ctx;
  progress.rollingBack(state.stackName, state.rollback?.cause ?? cause, continued);
  if (state.changes.size === 0 && state.rollback === undefined) return { status: 'complete' };
  state.rollback ??= { cause, startedAt: new Date().toISOString() };
  delete state.rollback.failure;
  session.state.save(state);
  const invoker = session.invoker(ctx.region);
  for (const logicalId of rollbackOrder(state)) {
    const failure = await undo(ctx, invoker, logicalId);
    if (failure !== undefined) {
      state.rollback.failure = `${logicalId}: ${failure}`;
      session.state.save(state);
      return { status: 'failed', logicalId, reason: failure };
    }
  }
  state.rollback = undefined;
  session.state.save(state);
  return { status: 'complete' };
}

/**
 * The changed resources in reverse dependency order, the replacements last: dependants are returned first, and the new
 * resource of a replacement is deleted once nothing refers to it any more.
 */
function rollbackOrder(state: DeploymentState): string[] {
  const ids = [...state.changes.keys()];
  const steps = new Map(ids.map((id) => [id, rollbackStep(state, id)]));
  const dependsOn = (id: string): string[] => {
    const step = steps.get(id)!;
    return step.kind === 'none' ? [] : step.current.dependsOn;
  };
  let order: string[];
  try {
    order = dependencyOrder(ids, dependsOn).reverse();
  } catch {
    // Records of several interrupted runs may disagree on dependencies: their recorded order, latest first, then.
    order = [...ids].reverse();
  }
  const last = (id: string): boolean => steps.get(id)!.kind === 'replacement';
  return [...order.filter((id) => !last(id)), ...order.filter(last)];
}

/** Undoes one change; returns why it failed, or undefined. */
async function undo(ctx: RollbackContext, invoker: HandlerInvoker, logicalId: string): Promise<string | undefined> {
  const { session, progress, state } = ctx;
  const step = rollbackStep(state, logicalId);
  const outcome = { stackName: state.stackName, logicalId };
  switch (step.kind) {
    case 'none':
      state.changes.delete(logicalId);
      session.state.save(state);
      return undefined;
    case 'reuse':
      applyUndone(state, logicalId, true);
      session.state.save(state);
      progress.outcome({
        ...outcome,
        type: step.current.type,
        action: 'rolled back',
        undone: 'replacement',
        data: step.before.data,
        physicalResourceId: step.current.physicalResourceId,
        restoredPhysicalResourceId: step.before.physicalResourceId,
      });
      return undefined;
    case 'update':
      return send(ctx, invoker, logicalId, step, 'Update', step.before, {
        ResourceProperties: step.before.properties,
        OldResourceProperties: step.current.properties,
      });
    default: {
      const r = step.current;
      if (r.deletionPolicy === 'Retain') {
        applyUndone(state, logicalId);
        session.state.save(state);
        progress.outcome({
          ...outcome,
          type: r.type,
          action: 'retained',
          physicalResourceId: r.physicalResourceId,
          data: r.data,
          reason: 'rolled back',
          retainedBy: 'DeletionPolicy Retain',
        });
        return undefined;
      }
      return send(ctx, invoker, logicalId, step, 'Delete', r, { ResourceProperties: r.properties });
    }
  }
}

/**
 * Sends a step's request with the code `served` was deployed with, and applies its outcome; returns why it failed, or
 * undefined.
 */
async function send(
  ctx: RollbackContext,
  invoker: HandlerInvoker,
  logicalId: string,
  step: Exclude<RollbackStep, { kind: 'none' | 'reuse' }>,
  requestType: 'Update' | 'Delete',
  served: DeployedResource,
  properties: Pick<CustomResourceRequest, 'ResourceProperties' | 'OldResourceProperties'>,
): Promise<string | undefined> {
  const { session, progress, state } = ctx;
  const { current } = step;
  const failed = (reason: string, logs?: string[]): string => {
    progress.failure({
      operation: 'deploy',
      deferClosing: true,
      stackName: state.stackName,
      stateFile: session.state.file(state.stackName),
      logicalId,
      type: current.type,
      requestType: `${requestType} (rollback)`,
      message: reason,
      reason,
      logs,
    });
    return reason;
  };
  let code: FunctionCode;
  try {
    code = storedFunction(session.state, served.handler, state.stackName);
  } catch (err) {
    return failed(err instanceof Error ? err.message : String(err));
  }
  const request = newRequest({
    request: {
      RequestType: requestType,
      ServiceToken: typeof served.properties.ServiceToken === 'string' ? served.properties.ServiceToken : '',
      StackId: state.stackId,
      LogicalResourceId: logicalId,
      ResourceType: current.type,
      PhysicalResourceId: current.physicalResourceId,
      ...properties,
    },
    handler: served.handler,
    rollback: true,
  });
  const response = await sendRecorded(session, state, invoker, code, request);
  if (response.status !== 'SUCCESS' || response.physicalResourceId === undefined) return failed(response.reason ?? 'FAILED', response.logs);
  forgetRequest(state, request);
  if (requestType === 'Update') applyUpdatedBack(state, logicalId, response.physicalResourceId, response.data);
  else applyUndone(state, logicalId);
  session.state.save(state);
  const kept = requestType === 'Delete' ? keptByHandler(current) : undefined;
  progress.outcome({
    stackName: state.stackName,
    logicalId,
    type: current.type,
    action: kept === undefined ? 'rolled back' : 'retained',
    physicalResourceId: current.physicalResourceId,
    data: requestType === 'Update' ? response.data : {},
    ...(kept === undefined ? { undone: step.kind } : { reason: 'rolled back', retainedBy: kept }),
    ...(step.kind === 'replacement' ? { restoredPhysicalResourceId: step.before.physicalResourceId } : {}),
  });
  return undefined;
}
