/**
 * Deleting deployed resources in reverse dependency order, as CloudFormation's cleanup phase and stack deletion do:
 * a resource whose policy is Retain is only forgotten; any other gets a Delete request with the properties it was last
 * deployed with. The state is saved after each one, so a failure leaves exactly what is still deployed.
 */
import { dependencyOrder } from './graph';
import type { FunctionCode } from './handler';
import { forgetRequest, newRequest, sendRecorded } from './in-flight';
import type { Session } from './session';
import type { DeployedResource, DeploymentState } from './state';
import type { Progress } from './summary';

export interface DeletionItem {
  /** Unique among the items. */
  readonly key: string;
  readonly logicalId: string;
  readonly resource: DeployedResource;
  /** `replaced` honours UpdateReplacePolicy; the others DeletionPolicy. */
  readonly reason: 'removed' | 'replaced' | 'destroyed';
  /** Drops the item from the state once it is deleted or retained. */
  readonly forget: () => void;
}

export interface DeletionContext {
  readonly session: Session;
  readonly progress: Progress;
  readonly state: DeploymentState;
  readonly region: string;
  /** A deploy's cleanup, or a destroy. */
  readonly operation: 'cleanup' | 'destroy';
  /** The code that serves a Delete for the resource. */
  readonly codeFor: (item: DeletionItem) => FunctionCode;
}

/**
 * What a cleanup or a destroy deletes: the resources replaced by an earlier deploy whose Delete is still owed, then the
 * deployed resources named by `logicalIds` (those that left the template, or all of them).
 */
export function deletionItems(state: DeploymentState, logicalIds: string[], reason: 'removed' | 'destroyed'): DeletionItem[] {
  return [
    ...state.pendingDeletes.map((p, i): DeletionItem => ({
      key: `replaced#${i}:${p.logicalId}`,
      logicalId: p.logicalId,
      resource: p,
      reason: 'replaced',
      forget: () => {
        state.pendingDeletes = state.pendingDeletes.filter((x) => x !== p);
      },
    })),
    ...logicalIds.map((id): DeletionItem => ({
      key: `${reason}:${id}`,
      logicalId: id,
      resource: state.resources.get(id)!,
      reason,
      forget: () => {
        state.resources.delete(id);
      },
    })),
  ];
}

const RETAIN_POLICIES = new Set(['Retain', 'RetainExceptOnCreate']);

/**
 * Resources whose handler answers a Delete by keeping what they made, and the property that says so (as
 * `src/private/handler-contract.ts` names them): the deploy's summary says `retained` for them, not `deleted`.
 */
const KEPT_BY_HANDLER: ReadonlyArray<{ type: string; property: string; keeps: string; why: string }> = [
  { type: 'Custom::EcrPublicImage', property: 'DeleteOnRemove', keeps: 'false', why: 'removalPolicy RETAIN (the default): the image stays in its repository' },
  { type: 'Custom::EcrPublicRepositoryCatalogData', property: 'RetainOnDelete', keeps: 'true', why: 'removalPolicy RETAIN: the catalog data stays on the repository' },
  { type: 'Custom::EcrPublicRepositoryPolicy', property: 'RetainOnDelete', keeps: 'true', why: 'removalPolicy RETAIN: the policy stays on the repository' },
];

/** Why the handler keeps what `r` made on Delete, or undefined when it deletes it. */
export function keptByHandler(r: DeployedResource): string | undefined {
  const rule = KEPT_BY_HANDLER.find((k) => k.type === r.type);
  if (rule === undefined) return undefined;
  // The handlers delete only on an explicit 'true' (DeleteOnRemove) and keep only on an explicit 'true' (RetainOnDelete).
  const value = r.properties[rule.property];
  const keeps = rule.keeps === 'false' ? value !== 'true' : value === 'true';
  return keeps ? rule.why : undefined;
}

export async function deleteInReverseOrder(ctx: DeletionContext, items: DeletionItem[]): Promise<void> {
  const byLogicalId = new Map<string, string[]>();
  for (const item of items) byLogicalId.set(item.logicalId, [...(byLogicalId.get(item.logicalId) ?? []), item.key]);
  const byKey = new Map(items.map((i) => [i.key, i]));
  const order = dependencyOrder(items.map((i) => i.key), (key) =>
    byKey.get(key)!.resource.dependsOn.flatMap((d) => byLogicalId.get(d) ?? []).filter((k) => k !== key));
  const { session, progress, state } = ctx;
  const stateFile = session.state.file(state.stackName);
  const invoker = session.invoker(ctx.region);

  for (const key of order.reverse()) {
    const item = byKey.get(key)!;
    const r = item.resource;
    const policy = item.reason === 'replaced' ? r.updateReplacePolicy : r.deletionPolicy;
    if (policy !== undefined && RETAIN_POLICIES.has(policy)) {
      item.forget();
      session.state.save(state);
      progress.outcome({
        stackName: state.stackName,
        logicalId: item.logicalId,
        type: r.type,
        action: 'retained',
        physicalResourceId: r.physicalResourceId,
        data: r.data,
        reason: item.reason,
        retainedBy: `${item.reason === 'replaced' ? 'UpdateReplacePolicy' : 'DeletionPolicy'} Retain`,
      });
      continue;
    }
    // What a failure to delete this resource reports, with its message.
    const failed = (message: string, response?: { reason?: string; logs: string[] }) => progress.failure({
      operation: ctx.operation,
      stackName: state.stackName,
      stateFile,
      logicalId: item.logicalId,
      type: r.type,
      requestType: 'Delete',
      message,
      ...(response ? { reason: response.reason, logs: response.logs } : {}),
    });
    let code: FunctionCode;
    try {
      code = ctx.codeFor(item);
    } catch (err) {
      throw failed(err instanceof Error ? err.message : String(err));
    }
    const serviceToken = typeof r.properties.ServiceToken === 'string' ? r.properties.ServiceToken : '';
    const request = newRequest({
      request: {
        RequestType: 'Delete',
        ServiceToken: serviceToken,
        StackId: state.stackId,
        LogicalResourceId: item.logicalId,
        ResourceType: r.type,
        ResourceProperties: r.properties,
        PhysicalResourceId: r.physicalResourceId,
      },
      handler: r.handler,
      deletion: item.reason,
    });
    const response = await sendRecorded(session, state, invoker, code, request);
    if (response.status !== 'SUCCESS') throw failed(response.reason ?? 'FAILED', response);
    forgetRequest(state, request);
    item.forget();
    session.state.save(state);
    const kept = keptByHandler(r);
    progress.outcome({
      stackName: state.stackName,
      logicalId: item.logicalId,
      type: r.type,
      action: kept === undefined ? 'deleted' : 'retained',
      physicalResourceId: r.physicalResourceId,
      data: {},
      reason: item.reason,
      ...(kept === undefined ? {} : { retainedBy: kept }),
    });
  }
}
