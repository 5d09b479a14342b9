/**
 * The stack's lifecycle sweeper: applies the repositories' lifecycle rules (ECR Public has no lifecycle policies).
 *
 * Two kinds of invocation: the EventBridge schedule (`ScheduledSweepEvent`: the repositories on that schedule, "now"
 * being the event's time), and `Custom::EcrPublicLifecycleSweep` at deploy (the repositories whose lifecycle changed,
 * so that a new rule takes effect at once; the response says how many images it expired). A run stops before the
 * function's timeout; what it did not reach, the next run does (deleted images stay deleted, so each run gets further).
 */
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { readSweeperConfig } from './config';
import { sweepRepository } from './sweep';
import {
  LifecycleSweepAttributes, LifecycleSweepProperties, RepositoryLifecycle, RepositorySweepResult, SCHEDULED_SWEEP, ScheduledSweepEvent,
  ScheduledSweepResult, SweeperConfig,
} from '../../src/shared/lifecycle-contract';
import { customResourceHandler, CustomResourceEvent, HandlerResult } from '../shared/cfn-response';
import { withEcrPublicClient } from '../shared/ecr-public-client';
import { log } from '../shared/log';

/** The part of the Lambda context the sweeper reads. */
interface LambdaContext {
  getRemainingTimeInMillis?(): number;
}

/** Without a context (a direct call): the longest a Lambda function runs. */
const DEFAULT_REMAINING_MS = 15 * 60 * 1000;
/** Kept free at the end of a run: a batch in flight, the summary, and the custom resource's response. */
const MAX_MARGIN_MS = 30_000;

/** The Lambda entry point. */
export async function handler(event: unknown, context?: LambdaContext): Promise<ScheduledSweepResult | void> {
  const remaining = context?.getRemainingTimeInMillis?.() ?? DEFAULT_REMAINING_MS;
  const deadline = Date.now() + remaining - Math.min(MAX_MARGIN_MS, remaining * 0.2);
  if (isCustomResourceEvent(event)) {
    return customResourceHandler<LifecycleSweepProperties>((e) => onDeploy(e, deadline))(event);
  }
  const scheduled = event as ScheduledSweepEvent;
  if (scheduled?.kind !== SCHEDULED_SWEEP) throw new Error(`Not a lifecycle sweep event: ${JSON.stringify(event).slice(0, 200)}`);
  return onSchedule(scheduled, deadline);
}

function isCustomResourceEvent(event: unknown): event is CustomResourceEvent<LifecycleSweepProperties> {
  return typeof event === 'object' && event !== null && 'RequestType' in event && 'ResponseURL' in event;
}

async function onSchedule(event: ScheduledSweepEvent, deadline: number): Promise<ScheduledSweepResult> {
  const now = event.time !== undefined ? Date.parse(event.time) : Date.now();
  if (Number.isNaN(now)) throw new Error(`The event's time '${event.time}' is not an ISO 8601 time`);
  const config = await readSweeperConfig(event);
  const due = config.repositories.filter((r) => event.schedule === undefined || r.schedule === event.schedule);
  const run = await sweepAll(due, { now, deadline, dryRun: event.dryRun });
  if (run.errors.length > 0) {
    // Every other repository was swept; failing the invocation makes the errors visible in the function's metrics.
    throw new Error(`The sweep of ${run.errors.length} repositories failed: ${run.errors.join('; ')}`);
  }
  return { now: new Date(now).toISOString(), repositories: run.results, notReached: run.notReached };
}

async function onDeploy(event: CustomResourceEvent<LifecycleSweepProperties>, deadline: number): Promise<HandlerResult> {
  const physicalResourceId = 'lifecycle-sweep';
  if (event.RequestType === 'Delete') return { physicalResourceId: event.PhysicalResourceId };
  const config = await readSweeperConfig(event.ResourceProperties);
  const previous = event.RequestType === 'Update' ? await previousConfig(event.OldResourceProperties) : undefined;
  const changed = config.repositories.filter((r) => !sameLifecycle(r, previous?.repositories.find((p) => p.repositoryName === r.repositoryName)));
  const run = await sweepAll(changed, { now: Date.now(), deadline });
  if (run.errors.length > 0) throw new Error(`The lifecycle sweep failed: ${run.errors.join('; ')}`);
  const total = (dryRun: boolean) => String(run.results.filter((r) => r.dryRun === dryRun).reduce((n, r) => n + r.expired, 0));
  const data: Record<keyof LifecycleSweepAttributes, string> = {
    ExpiredImages: total(false),
    WouldExpireImages: total(true),
    SweptRepositories: String(run.results.length),
    Complete: String(run.notReached.length === 0 && run.results.every((r) => r.complete)),
  };
  return { physicalResourceId, data };
}

/** The configuration of the previous deploy; when it cannot be read, every repository counts as changed. */
async function previousConfig(props: LifecycleSweepProperties): Promise<SweeperConfig | undefined> {
  try {
    return await readSweeperConfig(props);
  } catch (err) {
    log({ warning: 'the previous lifecycle configuration could not be read: every repository is swept', error: String(err) });
    return undefined;
  }
}

function sameLifecycle(a: RepositoryLifecycle, b: RepositoryLifecycle | undefined): boolean {
  return b !== undefined && JSON.stringify([a.rules, a.mode, a.protectedTags]) === JSON.stringify([b.rules, b.mode, b.protectedTags]);
}

interface Run {
  readonly results: RepositorySweepResult[];
  readonly notReached: string[];
  /** `<repository>: <error>` for each repository whose sweep failed. */
  readonly errors: string[];
}

/** Sweeps `repositories` one after the other, until the deadline. One failing repository does not stop the others. */
async function sweepAll(repositories: RepositoryLifecycle[], options: { now: number; deadline: number; dryRun?: boolean }): Promise<Run> {
  return withEcrPublicClient(async (ecr: ECRPUBLICClient) => {
    const results: RepositorySweepResult[] = [];
    const errors: string[] = [];
    const notReached: string[] = [];
    for (const repository of repositories) {
      if (Date.now() >= options.deadline || results.some((r) => !r.complete)) {
        notReached.push(repository.repositoryName);
        continue;
      }
      try {
        results.push(await sweepRepository(ecr, repository, options));
      } catch (err) {
        const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        log({ lifecycleSweep: { repository: repository.repositoryName, error: text } });
        errors.push(`${repository.repositoryName}: ${text}`);
      }
    }
    if (notReached.length > 0) {
      log({ lifecycleSweepStopped: 'before the function\'s timeout; the next run continues', notReached });
    }
    return { results, notReached, errors };
  });
}
