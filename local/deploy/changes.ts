/**
 * What a deploy changed, kept in the state until the deploy completes (`DeploymentState.changes`), and how a rollback
 * step's outcome returns a resource to what the last completed deploy left. These only change the state in memory; the
 * callers save it. The deployer records a resource here before its first request for it, in the same write that
 * records the request in flight, so that a killed run leaves nothing changed unrecorded.
 */
import type { DeployedResource, DeploymentState, InFlightRequest, PriorRecord } from './state';
import type { UndoneChange } from './types';

/** What a rollback does to one changed resource (see `rollbackStep`). */
export type RollbackStep =
  /** Nothing was changed after all (a failed Create without a physical id, an Update back already done). */
  | { readonly kind: 'none' }
  /** Created by the deploy (or its Create failed): a Delete. */
  | { readonly kind: 'creation'; readonly current: DeployedResource }
  /** Updated in place (or its Update failed): an Update back to the properties it had. */
  | { readonly kind: 'update'; readonly current: DeployedResource; readonly before: DeployedResource }
  /** Replaced by a new resource: a Delete of the new one, and the old one is the resource again. */
  | { readonly kind: 'replacement'; readonly current: DeployedResource; readonly before: DeployedResource }
  /**
   * Changed back to a replaced resource the state still held (a rename back, see `reuseReplaced`): the two change
   * places again, without a request, as nothing was created.
   */
  | { readonly kind: 'reuse'; readonly current: DeployedResource; readonly before: DeployedResource };

/** Records `logicalId` as changed by this deploy, unless an earlier change of the same deploy recorded it. */
export function noteChange(state: DeploymentState, logicalId: string): PriorRecord {
  const known = state.changes.get(logicalId);
  if (known) return known;
  const record: PriorRecord = {
    ...(state.resources.has(logicalId) ? { resource: state.resources.get(logicalId)! } : {}),
    pending: state.pendingDeletes.filter((p) => p.logicalId === logicalId).map((p) => p.physicalResourceId),
  };
  state.changes.set(logicalId, record);
  return record;
}

/** What a rollback does to `logicalId` (one of `state.changes`). */
export function rollbackStep(state: DeploymentState, logicalId: string): RollbackStep {
  const prior = state.changes.get(logicalId);
  const current = prior?.attempt ?? state.resources.get(logicalId);
  if (!prior || !current) return { kind: 'none' };
  const before = prior.resource;
  if (!before) return { kind: 'creation', current };
  if (current.physicalResourceId === before.physicalResourceId) {
    const same = prior.attempt === undefined && current.type === before.type && sameJson(current.properties, before.properties);
    return same ? { kind: 'none' } : { kind: 'update', current, before };
  }
  if (prior.pending.includes(current.physicalResourceId)) return { kind: 'reuse', current, before };
  return { kind: 'replacement', current, before };
}

/**
 * The outcome of a rollback step that removed or kept what the deploy made (a Delete, a retained resource, a reuse
 * undone): the resource is what it was before the deploy, and the change is forgotten. `keepCurrent` puts the current
 * resource back among the replaced ones awaiting deletion (a reuse undone).
 */
export function applyUndone(state: DeploymentState, logicalId: string, keepCurrent = false): void {
  const prior = state.changes.get(logicalId);
  if (!prior) return;
  state.changes.delete(logicalId);
  // What the step removed or kept: the failed attempt, or the resource the deploy left.
  const undone = prior.attempt ?? state.resources.get(logicalId);
  const current = state.resources.get(logicalId);
  const before = prior.resource;
  if (!before) {
    if (current && current.physicalResourceId === undone?.physicalResourceId) state.resources.delete(logicalId);
    return;
  }
  state.pendingDeletes = state.pendingDeletes.filter((p) => !(p.logicalId === logicalId && p.physicalResourceId === before.physicalResourceId));
  if (keepCurrent && current && current.physicalResourceId !== before.physicalResourceId) state.pendingDeletes.push({ ...current, logicalId });
  state.resources.set(logicalId, before);
}

/**
 * Applies the successful outcome of a rollback step's request (re-sent after a kill: see in-flight.ts); returns what it
 * undid.
 */
export function applyRollbackOutcome(
  state: DeploymentState, request: InFlightRequest, physicalResourceId: string | undefined, data: Record<string, string>,
): { undone: UndoneChange; restoredPhysicalResourceId?: string } {
  const logicalId = request.request.LogicalResourceId;
  const step = rollbackStep(state, logicalId);
  if (request.request.RequestType === 'Update') {
    applyUpdatedBack(state, logicalId, physicalResourceId ?? request.request.PhysicalResourceId ?? '', data);
    return { undone: 'update' };
  }
  applyUndone(state, logicalId);
  return step.kind === 'replacement' ? { undone: 'replacement', restoredPhysicalResourceId: step.before.physicalResourceId } : { undone: 'creation' };
}

/** The outcome of an Update back: the resource as it was, with what the handler answered; the change is forgotten. */
export function applyUpdatedBack(state: DeploymentState, logicalId: string, physicalResourceId: string, data: Record<string, string>): void {
  const before = state.changes.get(logicalId)?.resource;
  state.changes.delete(logicalId);
  if (!before) return;
  // A handler that answers the Update back with another physical id replaced the resource once more: the one it
  // leaves goes in the cleanup of the next completed deploy, as any replaced resource does.
  const current = state.resources.get(logicalId);
  if (current && current.physicalResourceId !== physicalResourceId) state.pendingDeletes.push({ ...current, logicalId });
  state.resources.set(logicalId, { ...before, physicalResourceId, data });
}

/**
 * A replaced resource of `logicalId` that the state still holds (awaiting deletion) and that was deployed with exactly
 * `properties`: a deploy that changes the resource back to it (a rename back after a deploy that was not rolled back)
 * takes it again, rather than asking the handler for a new one that would clash with it.
 */
export function reusableReplaced(
  state: DeploymentState, logicalId: string, type: string, properties: Record<string, unknown>,
): DeployedResource | undefined {
  return state.pendingDeletes.find((p) => p.logicalId === logicalId && p.type === type && sameJson(p.properties, properties));
}

/** Makes `replaced` (one of the state's replaced resources of `logicalId`) the resource again; the current one is replaced. */
export function reuseReplaced(state: DeploymentState, logicalId: string, replaced: DeployedResource, resource: Omit<DeployedResource, 'physicalResourceId' | 'data'>): void {
  const current = state.resources.get(logicalId);
  state.pendingDeletes = state.pendingDeletes.filter((p) => !(p.logicalId === logicalId && p.physicalResourceId === replaced.physicalResourceId));
  if (current) state.pendingDeletes.push({ ...current, logicalId, updateReplacePolicy: resource.updateReplacePolicy });
  state.resources.set(logicalId, { ...resource, physicalResourceId: replaced.physicalResourceId, data: replaced.data });
}

/** Whether two JSON values are equal, whatever the order of their keys. */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}
