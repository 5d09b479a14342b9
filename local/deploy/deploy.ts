/**
 * `deployApp`: deploys the ECR Public custom resources of a cloud assembly's stacks to the local emulator by running
 * their shipped handlers in-process, CloudFormation-style: Create what is new, Update what changed (with
 * OldResourceProperties), leave alone what did not, then delete what was replaced or removed, in reverse dependency order.
 */
import { AssemblyStack, readCloudAssembly, selectStacks } from './assembly';
import { deleteInReverseOrder, deletionItems } from './deletion';
import { functionForResource, functionInTemplate, ResolvedFunction, storedFunction } from './functions';
import { dependencyOrder, ourDependencies } from './graph';
import type { HandlerInvoker } from './handler';
import { publishImageAssets } from './image-assets/publish';
import { standInImageUris, withStandInUris } from './image-assets/stand-in-uris';
import { applyOutcome, completeInFlight, forgetRequest, newRequest, sendRecorded } from './in-flight';
import { Resolver, stringifyScalars } from './intrinsics';
import { outputLines, resolveOutputs, writeOutputsFile } from './outputs';
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
    await publishImageAssets(session, stacks);
    for (const stack of stacks) {
      outputs.set(stack.stackName, await deployStack(session, progress, stack));
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
  /** Prints a failure and returns the error to throw. */
  fail(message: string, extra?: FailureDetails): LocalDeployError;
}

/** Our resources in dependency order, and each one's dependencies among them. */
interface StackPlan {
  readonly order: string[];
  readonly dependencies: Map<string, string[]>;
}

/** Deploys one stack; returns its outputs. */
async function deployStack(session: Session, progress: Progress, stack: AssemblyStack): Promise<Record<string, string>> {
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
    resolver: stackResolver(session, stack, state, region, (id) => ours.has(id)),
    fail: (message, extra = {}) => progress.failure({ operation: 'deploy', stackName: stack.stackName, stateFile, message, ...extra }),
  };
  await noteTargetAndAssets(ctx);
  const plan = planStack(ctx);
  const invoker = session.invoker(region);
  await completeInFlight(session, progress, state, invoker);
  // Independent resources at once, dependencies first, outcomes printed in dependency order (see scheduler.ts).
  await deployConcurrently(plan.order, (id) => plan.dependencies.get(id) ?? [], (id) => deployResource(ctx, plan, invoker, id));
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

  const isUpdate = previous !== undefined && previous.type === resource.Type;
  const requestType = isUpdate ? 'Update' : 'Create';
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
  const response = await sendRecorded(session, state, invoker, fn.code, request);
  if (response.status !== 'SUCCESS' || response.physicalResourceId === undefined) {
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
    const resolved = stringifyScalars(resolver.resolve(resource.Properties ?? {}, `resource '${id}' (${resource.Type})`)) as Record<string, unknown>;
    const properties = withStandInUris(resolved, standInImageUris(stack, session.accountId, region, new URL(session.endpoint).host));
    session.state.keepCode(fn.ref.codeHash, fn.code.codeDir);
    return { fn, properties };
  } catch (err) {
    throw ctx.fail(errorMessage(err), { logicalId: id, type: resource.Type });
  }
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
    operation: 'deploy',
    // CloudFormation updates a function before its cleanup phase: a function still in the template serves with its new
    // code; one that left the template is deleted after the resources it serves, which still get its last code.
    codeFor: (item) => {
      const current = functionInTemplate(stack, resolver, session.accountId, region, item.resource.handler.functionLogicalId);
      return current?.code ?? storedFunction(session.state, item.resource.handler, stack.stackName);
    },
  }, items);
}

/** Whether two JSON values are equal, whatever the order of their keys. */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
