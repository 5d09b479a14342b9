/**
 * `deployApp`: deploys the ECR Public custom resources of a cloud assembly's stacks to the local emulator by running
 * their shipped handlers in-process, CloudFormation-style: Create what is new, Update what changed (with
 * OldResourceProperties), leave alone what did not, then delete what was replaced or removed, in reverse dependency order.
 */
import { AssemblyStack, readCloudAssembly, selectStacks } from './assembly';
import { deleteInReverseOrder, deletionItems } from './deletion';
import { functionForResource, functionInTemplate, storedFunction } from './functions';
import { dependencyOrder, ourDependencies } from './graph';
import { applyOutcome, completeInFlight, forgetRequest, newRequest, sendRecorded } from './in-flight';
import { Resolver, stringifyScalars, UnresolvableError } from './intrinsics';
import { deployConcurrently, DeployOne } from './scheduler';
import { DEFAULT_REGION, Session, withSession } from './session';
import type { DeploymentState } from './state';
import { Progress } from './summary';
import { DeployResult, LocalDeployError, LocalDeployOptions, SkippedResource } from './types';

/** The resource types the deployer deploys: the library's custom resources. */
export const OUR_TYPE_PREFIX = 'Custom::EcrPublic';

export async function deployApp(options: LocalDeployOptions): Promise<DeployResult> {
  const assembly = readCloudAssembly(options.assemblyDir);
  const stacks = selectStacks(assembly, options.stackName);
  return withSession(options, async (session) => {
    const progress = new Progress(session);
    for (const stack of stacks) await deployStack(session, progress, stack);
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

async function deployStack(session: Session, progress: Progress, stack: AssemblyStack): Promise<void> {
  const region = stack.region ?? DEFAULT_REGION;
  const state = session.state.loadOrCreate(stack.stackName, session.accountId, region);
  const stateFile = session.state.file(stack.stackName);
  progress.stack('Deploying', stack.stackName, state.stackId, stateFile, region);
  type FailureDetails = { logicalId?: string; type?: string; requestType?: string; reason?: string; logs?: string[] };
  const fail = (message: string, extra: FailureDetails = {}): LocalDeployError =>
    progress.failure({ operation: 'deploy', stackName: stack.stackName, stateFile, message, ...extra });

  if (stack.account !== undefined && stack.account !== session.accountId) {
    progress.note(`note: the stack targets account ${stack.account}; it is deployed to the emulator's account ${session.accountId}`);
  }
  if (state.region !== region) progress.note(`note: the stack was deployed for region ${state.region} before; it is now ${region}`);
  for (const problem of await session.serveAssets(stack, region)) progress.note(`warning: ${problem}`);
  if (session.s3FromEnvironment) {
    progress.note(`assets: handlers read them from AWS_ENDPOINT_URL_S3=${session.s3Endpoint}, not from the deployer`);
    for (const missing of await session.missingExternalAssets(stack, region)) {
      progress.note(`warning: AWS_ENDPOINT_URL_S3 does not serve ${missing}: a handler reading it will fail `
        + '(unset AWS_ENDPOINT_URL_S3 to let the deployer serve the assembly\'s assets)');
    }
  }

  const resources = stack.template.Resources ?? {};
  const oursSet = new Set<string>();
  const resolver = stackResolver(session, stack, state, region, (id) => oursSet.has(id));
  let order: string[];
  let dependencies: Map<string, string[]>;
  const inactive: Array<{ id: string; type: string; condition: string }> = [];
  try {
    // Our resources whose Condition (if any) holds, in dependency order.
    for (const [id, r] of Object.entries(resources)) {
      if (!r.Type.startsWith(OUR_TYPE_PREFIX)) continue;
      if (r.Condition === undefined || resolver.condition(r.Condition, `resource '${id}'`)) oursSet.add(id);
      else inactive.push({ id, type: r.Type, condition: r.Condition });
    }
    dependencies = ourDependencies(stack.template, [...oursSet]);
    order = dependencyOrder([...oursSet], (id) => dependencies.get(id) ?? []);
  } catch (err) {
    throw fail(errorMessage(err));
  }
  for (const r of inactive) progress.note(`condition  ${r.id}  ${r.type}: not deployed, its condition '${r.condition}' is false`);
  const skipped: SkippedResource[] = Object.entries(resources)
    .filter(([, r]) => !r.Type.startsWith(OUR_TYPE_PREFIX))
    .map(([logicalId, r]) => ({ stackName: stack.stackName, logicalId, type: r.Type }));
  progress.skipped(skipped);

  const invoker = session.invoker(region);
  await completeInFlight(session, progress, state, invoker);
  const deployOne: DeployOne = async (id) => {
    const resource = resources[id];
    const where = `resource '${id}' (${resource.Type})`;
    let properties: Record<string, unknown>;
    let fn: ReturnType<typeof functionForResource>;
    try {
      fn = functionForResource(stack, resolver, session.accountId, region, id, resource);
      properties = stringifyScalars(resolver.resolve(resource.Properties ?? {}, where)) as Record<string, unknown>;
      session.state.keepCode(fn.ref.codeHash, fn.code.codeDir);
    } catch (err) {
      throw fail(errorMessage(err), { logicalId: id, type: resource.Type });
    }
    const previous = state.resources.get(id);
    const recorded = {
      type: resource.Type,
      properties,
      dependsOn: dependencies.get(id) ?? [],
      deletionPolicy: resource.DeletionPolicy,
      updateReplacePolicy: resource.UpdateReplacePolicy,
      handler: fn.ref,
    };

    if (previous && previous.type === resource.Type && sameJson(previous.properties, properties)) {
      // Nothing to send; the policies, dependencies and code may still have changed, as CloudFormation records them
      // (saved only then: hundreds of unchanged resources need no write each).
      const unchanged = { ...recorded, physicalResourceId: previous.physicalResourceId, data: previous.data };
      state.resources.set(id, unchanged);
      if (!sameJson(unchanged, previous)) session.state.save(state);
      return () => progress.outcome({
        stackName: stack.stackName,
        logicalId: id,
        type: resource.Type,
        action: 'unchanged',
        physicalResourceId: previous.physicalResourceId,
        data: previous.data,
      });
    }

    const isUpdate = previous !== undefined && previous.type === resource.Type;
    const request = newRequest({
      request: {
        RequestType: isUpdate ? 'Update' : 'Create',
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
      throw fail(response.reason ?? 'FAILED', {
        logicalId: id, type: resource.Type, requestType: isUpdate ? 'Update' : 'Create', reason: response.reason, logs: response.logs,
      });
    }
    const physicalResourceId = response.physicalResourceId;
    forgetRequest(state, request);
    const applied = applyOutcome(state, id, recorded, physicalResourceId, response.data);
    session.state.save(state);
    return () => progress.outcome({
      stackName: stack.stackName,
      logicalId: id,
      type: resource.Type,
      physicalResourceId,
      data: response.data,
      ...applied,
    });
  };
  // Independent resources at once, dependencies first, outcomes printed in dependency order (see scheduler.ts).
  await deployConcurrently(order, (id) => dependencies.get(id) ?? [], deployOne);
  progress.printSkipped();

  // Cleanup: what was replaced, and what left the template, in reverse dependency order.
  const items = deletionItems(state, [...state.resources.keys()].filter((id) => !oursSet.has(id)), 'removed');
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

  state.exports = stackExports(stack, resolver, (line) => {
    if (session.verbose) progress.note(line);
  });
  session.state.save(state);
  progress.done('Deployed');
}

/** The stack's exported outputs that can be resolved here, for Fn::ImportValue in other stacks. */
function stackExports(stack: AssemblyStack, resolver: Resolver, note: (line: string) => void): Map<string, string> {
  const exports = new Map<string, string>();
  for (const [name, output] of Object.entries(stack.template.Outputs ?? {})) {
    if (output.Export?.Name === undefined) continue;
    try {
      if (output.Condition !== undefined && !resolver.condition(output.Condition, `output '${name}'`)) continue;
      const exportName = resolver.resolve(output.Export.Name, `output '${name}'`);
      const value = resolver.resolve(output.Value, `output '${name}'`);
      if (typeof exportName === 'string') exports.set(exportName, typeof value === 'string' ? value : JSON.stringify(value));
    } catch (err) {
      if (!(err instanceof UnresolvableError)) throw err;
      note(`export of output '${name}' not recorded: ${err.message}`);
    }
  }
  return exports;
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
