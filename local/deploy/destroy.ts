/**
 * `destroyApp`: deletes every resource a stack's deployment state records, in reverse dependency order, with the handler
 * code it was deployed with (as deleting the CloudFormation stack would), honouring DeletionPolicy Retain; then removes
 * the state.
 */
import * as fs from 'fs';
import { readCloudAssembly, selectStacks } from './assembly';
import { deleteInReverseOrder, deletionItems } from './deletion';
import { storedFunction } from './functions';
import { completeInFlight } from './in-flight';
import { DEFAULT_REGION, withSession } from './session';
import { Progress } from './summary';
import { DeployResult, LocalDeployOptions } from './types';

export async function destroyApp(options: LocalDeployOptions): Promise<DeployResult> {
  const assembly = readCloudAssembly(options.assemblyDir);
  // Dependants first: the reverse of the deploy order.
  const stacks = [...selectStacks(assembly, options.stackName)].reverse();
  return withSession(options, async (session) => {
    const progress = new Progress(session);
    for (const stack of stacks) {
      const state = session.state.load(stack.stackName);
      const stateFile = session.state.file(stack.stackName);
      if (!state) {
        session.log(`${stack.stackName}: nothing deployed (no ${stateFile})`);
        continue;
      }
      if (state.accountId !== session.accountId) {
        throw new Error(`The stack '${stack.stackName}' was deployed to account ${state.accountId} (${stateFile}), `
          + `but the emulator serves account ${session.accountId}`);
      }
      const region = state.region ?? stack.region ?? DEFAULT_REGION;
      progress.stack('Destroying', stack.stackName, state.stackId, stateFile, region);
      const invoker = session.invoker(region);
      await completeInFlight(session, progress, state, invoker);
      const items = deletionItems(state, [...state.resources.keys()], 'destroyed');
      await deleteInReverseOrder({
        session,
        progress,
        state,
        region,
        operation: 'destroy',
        codeFor: (item) => storedFunction(session.state, item.resource.handler, stack.stackName),
      }, items);
      session.state.remove(stack.stackName);
      if (fs.existsSync(stateFile)) throw new Error(`Could not remove ${stateFile}`);
      progress.done('Destroyed');
    }
    return progress.result;
  });
}
