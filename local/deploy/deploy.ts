/**
 * `deployApp`: deploys the ECR Public custom resources of a cloud assembly's stacks to the local emulator by running
 * their shipped handlers in-process, CloudFormation-style: Create what is new, Update what changed (with
 * OldResourceProperties), leave alone what did not, then delete what was replaced or removed, in reverse dependency order.
 * A stack whose deploy fails is rolled back (rollback.ts) unless `noRollback`.
 */
import { AssemblyStack, readCloudAssembly, selectStacks } from './assembly';
import { noteChange, reusableReplaced, reuseReplaced, sameJson } from './changes';
import { deleteInReverseOrder, deletionItems } from './deletion';
import { logsProblem } from './function-logs';
import { functionForResource, functionInTemplate, ResolvedFunction, storedFunction } from './functions';
import { dependencyOrder, ourDependencies } from './graph';
import type { HandlerInvoker } from './handler';
import { standInImageUris, withStandInUris } from './image-assets/stand-in-uris';
import { applyOutcome, completeInFlight, forgetRequest, newRequest, sendRecorded } from './in-flight';
import { Resolver, stringifyScalars } from './intrinsics';
import { outputLines, resolveOutputs, writeOutputsFile } from './outputs';
import { rollBack } from './rollback';
import { deployConcurrently } from './scheduler';
import { DEFAULT_REGION, Session, withSession } from './session';
import type { DeployedResource, DeploymentState } from './state';
import { Progress } from './summary';
import { DeployResult, LocalDeployError, LocalDeployOptions } from './types';

/** The resource types the deployer deploys: the library's custom resources. */
export const OUR_TYPE_PREFIX = 'Custom::EcrPublic';

export async function deployApp(options: LocalDeployOptions): Promise<DeployResult> {
  const assembly = readCloudAssembly(options.assemblyDir);
  const stacks = selectStacks(assembly, options.stackName);
  return withSession(options, async (session) => {
    const progress = new Progress(session);
    // Stack name to outputs, in deploy order: the outputs file is rewritten after each stack, as `cdk deploy` keeps
    // the outputs of the stacks it deployed.
    const outputs = new Map<string, Record<string, string>>();
    if (stacks.some((s) => s.imageAssets.length > 0)) {
      // Loaded for an app with Docker image assets only: builds and stand-in registries are no other deploy's business.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { publishImageAssets } = require('./image-assets/publish') as typeof import('./image-assets/publish');
      await publishImageAssets(session, stacks);
    }
    for (const stack of stacks) {
      outputs.set(stack.stackName, await deployStack(session, progress, stack, !(options.noRollback ?? false)));
      if (options.outputsFile !== undefined) writeOutputsFile(options.outputsFile, outputs);
    }
    return progress.result;
  });
}

/** The Resolver of a stack, for the deployer's resources as recorded in `state`. */
export function stackResolver(
  session: Session, stack: AssemblyStack, state: DeploymentState, region: string, ours: (id: string) => boolean,
): Resolver {
  let exports: Map<string, string> | undefined;
  return new Resolver({
    stackName: stack.stackName,
    stackId: state.stackId,
    accountId: session.accountId,
    region,
    template: stack.template,
    isOurs: ours,
    deployed: (id) => state.resources.get(id),
    importValue: (name) => (exports ??= session.state.allExports()).get(name),
  });
}

type FailureDetails = { logicalId?: string; type?: string; requestType?: string; reason?: string; logs?: string[] };

/** One stack's deploy: what every step reads. */
interface StackDeploy {
  readonly session: Session;
  readonly progress: Progress;
  readonly stack: AssemblyStack;
  readonly region: string;
  readonly state: DeploymentState;
  readonly resolver: Resolver;
  /** Our resources whose condition holds. */
  readonly ours: Set<string>;
  /** Whether a failure is rolled back. */
  readonly rollback: boolean;
  /** Functions whose role was checked for writing their logs (once per function and deploy). */
  readonly logsChecked: Set<string>;
  /** Prints a failure and returns the error to throw. */
  fail(message: string, extra?: FailureDetails): LocalDeployError;
}

/** Our resources in dependency order, and each one's dependencies among them. */
interface StackPlan {
  readonly order: string[];
  readonly dependencies: Map<string, string[]>;
}

/** Deploys one stack (rolled back if it fails, when `rollback`); returns its outputs. */
async function deployStack(session: Session, progress: Progress, stack: AssemblyStack, rollback: boolean): Promise<Record<string, string>> {
  const region = stack.region ?? DEFAULT_REGION;
  const state = session.state.loadOrCreate(stack.stackName, session.accountId, region);
  const stateFile = session.state.file(stack.stackName);
  progress.stack('Deploying', stack.stackName, state.stackId, stateFile, region);
  const ours = new Set<string>();
  const ctx: StackDeploy = {
    session,
    progress,
    stack,
    region,
    state,
    ours,
    rollback,
    logsChecked: new Set(),
    resolver: stackResolver(session, stack, state, region, (id) => ours.has(id)),
    fail: (message, extra = {}) => progress.failure({ operation: 'deploy', stackName: stack.stackName, stateFile, message, deferClosing: true, ...extra }),
  };
  await noteTargetAndAssets(ctx);
  const invoker = session.invoker(region);
  await completeInFlight(session, progress, state, invoker);
  if (state.rollback !== undefined) {
    // A rollback an earlier run left unfinished is continued before anything is deployed, as CloudFormation takes no
    // update of a stack in UPDATE_ROLLBACK_FAILED before continue-update-rollback.
    const cause = state.rollback.cause;
    const report = await rollBack(ctx, cause, true);
    if (report.status !== 'complete') throw progress.rolledBack({ stackName: stack.stackName, stateFile, cause, report });
  }
  try {
    const plan = planStack(ctx);
    // Independent resources at once, dependencies first, outcomes printed in dependency order (see scheduler.ts).
    await deployConcurrently(plan.order, (id) => plan.dependencies.get(id) ?? [], (id) => deployResource(ctx, plan, invoker, id));
  } catch (err) {
    if (!(err instanceof LocalDeployError)) throw err;
    if (!rollback) throw progress.notRolledBack(stack.stackName, stateFile, err);
    const report = await rollBack(ctx, err.message, false);
    throw progress.rolledBack({ stackName: stack.stackName, stateFile, cause: err.message, first: err, report });
  }
  // The deploy is complete: nothing of it is rolled back any more (a failed cleanup included, as CloudFormation's).
  if (state.changes.size > 0) {
    state.changes.clear();
    session.state.save(state);
  }
  progress.printSkipped();
  await cleanUp(ctx);
  const outputs = resolveOutputs(stack, ctx.resolver);
  state.exports = outputs.exports;
  session.state.save(state);
  progress.done('Deployed');
  for (const line of outputLines(stack.stackName, outputs)) progress.note(line);
  return outputs.values;
}

/** Notes where the stack is deployed when that differs from what it names, and serves its file assets. */
async function noteTargetAndAssets({ session, progress, stack, region, state }: StackDeploy): Promise<void> {
  if (stack.account !== undefined && stack.account !== session.accountId) {
    progress.note(`note: the stack targets account ${stack.account}; it is deployed to the emulator's account ${session.accountId}`);
  }
  if (state.region !== region) progress.note(`note: the stack was deployed for region ${state.region} before; it is now ${region}`);
  for (const problem of await session.serveAssets(stack, region)) progress.note(`warning: ${problem}`);
}

/** Our resources whose Condition (if any) holds, in dependency order; records the others as skipped. */
function planStack(ctx: StackDeploy): StackPlan {
  const { stack, progress, resolver, ours } = ctx;
  const resources = stack.template.Resources ?? {};
  const inactive: Array<{ id: string; type: string; condition: string }> = [];
  let plan: StackPlan;
  try {
    for (const [id, r] of Object.entries(resources)) {
      if (!r.Type.startsWith(OUR_TYPE_PREFIX)) continue;
      if (r.Condition === undefined || resolver.condition(r.Condition, `resource '${id}'`)) ours.add(id);
      else inactive.push({ id, type: r.Type, condition: r.Condition });
    }
    const dependencies = ourDependencies(stack.template, [...ours]);
    plan = { dependencies, order: dependencyOrder([...ours], (id) => dependencies.get(id) ?? []) };
  } catch (err) {
    throw ctx.fail(errorMessage(err));
  }
  for (const r of inactive) progress.note(`condition  ${r.id}  ${r.type}: not deployed, its condition '${r.condition}' is false`);
  progress.skipped(Object.entries(resources)
    .filter(([, r]) => !r.Type.startsWith(OUR_TYPE_PREFIX))
    .map(([logicalId, r]) => ({ stackName: stack.stackName, logicalId, type: r.Type })));
  return plan;
}

/**
 * Creates or updates one resource, or records it unchanged; returns what prints its outcome (in dependency order).
 */
async function deployResource(ctx: StackDeploy, plan: StackPlan, invoker: HandlerInvoker, id: string): Promise<() => void> {
  const { session, progress, stack, state } = ctx;
  const resource = (stack.template.Resources ?? {})[id];
  const { fn, properties } = resolveResource(ctx, id);
  const previous = state.resources.get(id);
  const recorded: Omit<DeployedResource, 'physicalResourceId' | 'data'> = {
    type: resource.Type,
    properties,
    dependsOn: plan.dependencies.get(id) ?? [],
    deletionPolicy: resource.DeletionPolicy,
    updateReplacePolicy: resource.UpdateReplacePolicy,
    handler: fn.ref,
  };
  const outcome = { stackName: stack.stackName, logicalId: id, type: resource.Type };
  if (previous && previous.type === resource.Type && sameJson(previous.properties, properties)) {
    // Nothing to send; the policies, dependencies and code may still have changed, as CloudFormation records them
    // (saved only then: hundreds of unchanged resources need no write each).
    const unchanged = { ...recorded, physicalResourceId: previous.physicalResourceId, data: previous.data };
    state.resources.set(id, unchanged);
    if (!sameJson(unchanged, previous)) session.state.save(state);
    return () => progress.outcome({ ...outcome, action: 'unchanged', physicalResourceId: previous.physicalResourceId, data: previous.data });
  }

  // Changed back to what a replaced resource still awaiting deletion was deployed with (a rename back after a deploy
  // that was not rolled back): that resource is taken again, as asking for a new one would meet it.
  const reusable = previous && reusableReplaced(state, id, resource.Type, properties);
  if (previous && reusable) {
    noteChange(state, id);
    reuseReplaced(state, id, reusable, recorded);
    session.state.save(state);
    return () => progress.outcome({
      ...outcome, action: 'replaced', physicalResourceId: reusable.physicalResourceId, data: reusable.data, replacedPhysicalResourceId: previous.physicalResourceId,
    });
  }
  const isUpdate = previous !== undefined && previous.type === resource.Type;
  const requestType = isUpdate ? 'Update' : 'Create';
  try {
    // Before the request is recorded: code that must not run fails the deploy as an unusable function does.
    fn.code.verify?.();
  } catch (err) {
    throw ctx.fail(errorMessage(err), { logicalId: id, type: resource.Type });
  }
  const request = newRequest({
    request: {
      RequestType: requestType,
      ServiceToken: String(properties.ServiceToken ?? ''),
      StackId: state.stackId,
      LogicalResourceId: id,
      ResourceType: resource.Type,
      ResourceProperties: properties,
      ...(isUpdate ? { OldResourceProperties: previous.properties, PhysicalResourceId: previous.physicalResourceId } : {}),
    },
    handler: fn.ref,
    resource: recorded,
  });
  // Recorded in the write that records the request: a rollback returns the resource to what it is now.
  const prior = noteChange(state, id);
  const response = await sendRecorded(session, state, invoker, fn.code, request);
  if (response.status !== 'SUCCESS' || response.physicalResourceId === undefined) {
    // The rollback answers the failed resource too: a Delete (of the handlers' CREATE_FAILED marker) or an Update back.
    const attempted = response.physicalResourceId ?? (isUpdate ? previous.physicalResourceId : undefined);
    if (attempted !== undefined) {
      prior.attempt = { ...recorded, physicalResourceId: attempted, data: {} };
      session.state.save(state);
    }
    throw ctx.fail(response.reason ?? 'FAILED', { ...outcome, logicalId: id, requestType, reason: response.reason, logs: response.logs });
  }
  const physicalResourceId = response.physicalResourceId;
  forgetRequest(state, request);
  const applied = applyOutcome(state, id, recorded, physicalResourceId, response.data);
  session.state.save(state);
  return () => progress.outcome({ ...outcome, physicalResourceId, data: response.data, ...applied });
}

/** The resource's function and resolved properties; keeps the function's code for later deletes. */
function resolveResource(ctx: StackDeploy, id: string): { fn: ResolvedFunction; properties: Record<string, unknown> } {
  const { session, stack, resolver, region } = ctx;
  const resource = (stack.template.Resources ?? {})[id];
  try {
    const fn = functionForResource(stack, resolver, session.accountId, region, id, resource);
    noteLogsProblem(ctx, fn);
    const resolved = stringifyScalars(resolver.resolve(resource.Properties ?? {}, `resource '${id}' (${resource.Type})`)) as Record<string, unknown>;
    const properties = withStandInUris(resolved, standInImageUris(stack, session.accountId, region, new URL(session.endpoint).host));
    session.state.keepCode(fn.ref.codeHash, fn.code.codeDir, fn.code.verify);
    return { fn, properties };
  } catch (err) {
    throw ctx.fail(errorMessage(err), { logicalId: id, type: resource.Type });
  }
}

/** Says once per function when its role could not write its logs on AWS (the emulator serves no CloudWatch Logs). */
function noteLogsProblem(ctx: StackDeploy, fn: ResolvedFunction): void {
  const { functionLogicalId, role } = fn.ref;
  if (role === undefined || ctx.logsChecked.has(functionLogicalId)) return;
  ctx.logsChecked.add(functionLogicalId);
  const problem = logsProblem(ctx.stack, ctx.resolver, functionLogicalId, fn.code.functionName, role, ctx.session.accountId, ctx.region);
  if (problem !== undefined) ctx.progress.note(`warning: ${problem}`);
}

/** Deletes what was replaced, and what left the template, in reverse dependency order. */
async function cleanUp(ctx: StackDeploy): Promise<void> {
  const { session, progress, stack, state, region, resolver, ours } = ctx;
  const items = deletionItems(state, [...state.resources.keys()].filter((id) => !ours.has(id)), 'removed');
  await deleteInReverseOrder({
    session,
    progress,
    state,
    region,
    operation: 'cleanup',
    // CloudFormation updates a function before its cleanup phase: a function still in the template serves with its new
    // code; one that left the template is deleted after the resources it serves, which still get its last code.
    codeFor: (item) => {
      const current = functionInTemplate(stack, resolver, session.accountId, region, item.resource.handler.functionLogicalId);
      return current?.code ?? storedFunction(session.state, item.resource.handler, stack.stackName);
    },
  }, items);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
