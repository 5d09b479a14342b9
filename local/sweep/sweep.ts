/**
 * `sweepApp`: runs the lifecycle sweepers of a synthesized app's stacks against the emulator, as their EventBridge
 * schedules would: the stack's sweeper function (its shipped handler, found through the stack's
 * `Custom::EcrPublicLifecycleSweep`) is invoked with a scheduled event whose time is `now`, so that age rules can be
 * tried without moving any clock. Every repository with rules is swept, whatever its schedule.
 */
import { readSweepResult, RepositorySweep, SCHEDULED_SWEEP, SWEEP_TYPE } from './result';
import { readCloudAssembly, selectStacks } from '../deploy/assembly';
import { stackResolver } from '../deploy/deploy';
import { functionForResource } from '../deploy/functions';
import { stringifyScalars } from '../deploy/intrinsics';
import { DEFAULT_REGION, openSession } from '../deploy/session';
import type { LocalDeployOptions } from '../deploy/types';


export interface LocalSweepOptions extends Omit<LocalDeployOptions, 'verbose' | 'outputsFile'> {
  /**
   * "Now" for image ages, an ISO 8601 time.
   * @default - the current time
   */
  readonly now?: string;
  /** Report what would expire; delete nothing. @default false */
  readonly dryRun?: boolean;
  /** Print the sweeper's log lines. @default false */
  readonly verbose?: boolean;
}

export interface StackSweep {
  readonly stackName: string;
  readonly repositories: RepositorySweep[];
  readonly notReached: string[];
}

/** A sweep that failed: the sweeper's error, with what it logged. */
export class LocalSweepError extends Error {
  constructor(message: string, public readonly logs: string[]) {
    super(message);
    this.name = 'LocalSweepError';
  }
}

export async function sweepApp(options: LocalSweepOptions): Promise<StackSweep[]> {
  const now = options.now ?? new Date().toISOString();
  if (Number.isNaN(Date.parse(now)) || !/^\d{4}-\d{2}-\d{2}T/.test(now)) throw new Error(`--now must be an ISO 8601 time such as 2026-12-01T00:00:00Z (got '${now}')`);
  const assembly = readCloudAssembly(options.assemblyDir);
  const stacks = selectStacks(assembly, options.stackName);
  const session = await openSession(options);
  const log = session.log;
  const results: StackSweep[] = [];
  try {
    for (const stack of stacks) {
      const sweeps = Object.entries(stack.template.Resources ?? {}).filter(([, r]) => r.Type === SWEEP_TYPE);
      if (sweeps.length === 0) {
        log(`${stack.stackName}: no repository with lifecycle rules`);
        continue;
      }
      const region = stack.region ?? DEFAULT_REGION;
      const state = session.state.load(stack.stackName) ?? session.state.loadOrCreate(stack.stackName, session.accountId, region);
      const resolver = stackResolver(session, stack, state, region, (id) => state.resources.has(id));
      for (const problem of await session.serveAssets(stack, region)) log(`  warning: ${problem}`);
      const invoker = session.invoker(region);
      for (const [id, resource] of sweeps) {
        const fn = functionForResource(stack, resolver, session.accountId, region, id, resource);
        const props = stringifyScalars(resolver.resolve(resource.Properties ?? {}, `resource '${id}' (${SWEEP_TYPE})`)) as Record<string, unknown>;
        const event = {
          kind: SCHEDULED_SWEEP, time: now, ConfigBucket: props.ConfigBucket, ConfigKey: props.ConfigKey, ...(options.dryRun ? { dryRun: true } : {}),
        };
        log(`Sweeping ${stack.stackName} at ${now}${options.dryRun ? ' (dry run)' : ''} in ${session.endpoint}`);
        const outcome = await invoker.invokeEvent(fn.code, event, String(props.ServiceToken ?? ''));
        // With verbose, the session's invoker has printed the sweeper's log lines as they came.
        if (outcome.error !== undefined) throw new LocalSweepError(`${stack.stackName}: the sweep failed: ${outcome.error}`, outcome.logs);
        let result;
        try {
          result = readSweepResult(outcome.result);
        } catch (err) {
          throw new LocalSweepError(`${stack.stackName}: ${(err as Error).message}`, outcome.logs);
        }
        for (const r of result.repositories) log(`  ${describe(r)}`);
        if (result.notReached.length > 0) log(`  not reached before the timeout (the next sweep continues): ${result.notReached.join(', ')}`);
        results.push({ stackName: stack.stackName, repositories: result.repositories, notReached: result.notReached });
      }
    }
    return results;
  } finally {
    await session.close();
  }
}

/** `acme/web: 12 images, expired 3 (rule 1: 2, rule 3: 1), kept 9; protected 1; referenced by an index 2`. */
function describe(r: RepositorySweep): string {
  const rules = Object.entries(r.byRule).map(([p, n]) => `rule ${p}: ${n}`).join(', ');
  const parts = [
    `${r.repository}: ${r.imagesSeen} image${r.imagesSeen === 1 ? '' : 's'}, ${r.dryRun ? 'would expire' : 'expired'} ${r.expired}${rules ? ` (${rules})` : ''}, kept ${r.kept}`,
    ...(r.keptProtected.length > 0 ? [`kept for a PublicImage's tags ${r.keptProtected.length}`] : []),
    ...(r.keptReferenced.length > 0 ? [`kept as referenced by an index ${r.keptReferenced.length}`] : []),
    ...(r.failures.length > 0 ? [`refused ${r.failures.join('; ')}`] : []),
    ...(r.complete ? [] : ['stopped before the timeout']),
  ];
  return [parts.join('; '), ...(r.wouldExpire ?? []).map((w) => `    would expire ${w}`)].join('\n  ');
}
