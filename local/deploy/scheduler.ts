/**
 * Concurrent deployment of independent resources, as CloudFormation does it: a resource starts once every resource it
 * depends on has succeeded, at most `DEPLOY_CONCURRENCY` at a time. What each resource reports (its outcome line) is
 * delivered in the given dependency order, whatever order they finish in, so that the output reads the same from one
 * run to the next. After a failure nothing new starts; the resources already running finish, and the first failure
 * (in dependency order) is thrown.
 */

/**
 * How many resources are deployed at once. CloudFormation does not document its own bound; the handlers here spend
 * most of their time waiting on the API, so a few dozen in flight keep one emulator process busy without queueing
 * hundreds of requests in it.
 */
export const DEPLOY_CONCURRENCY = 16;

/** Deploys one resource; resolves to what reports it (called in order), rejects when it failed. */
export type DeployOne = (id: string) => Promise<(() => void) | void>;

/**
 * Runs `deployOne` for each of `order` (ids in dependency order), each after the ids it depends on among `order`.
 * Resolves when all succeeded; rejects with the first failure once nothing is running any more.
 */
export async function deployConcurrently(
  order: readonly string[],
  dependsOn: (id: string) => readonly string[],
  deployOne: DeployOne,
  concurrency: number = DEPLOY_CONCURRENCY,
): Promise<void> {
  const position = new Map(order.map((id, i) => [id, i]));
  const waitingOn = new Map<string, Set<string>>();
  const dependents = new Map<string, string[]>();
  for (const id of order) {
    const deps = new Set(dependsOn(id).filter((d) => position.has(d) && d !== id));
    waitingOn.set(id, deps);
    for (const d of deps) dependents.set(d, [...(dependents.get(d) ?? []), id]);
  }
  /** Ready to start, kept in dependency order so that the start order is the sequential one when nothing overlaps. */
  const ready = order.filter((id) => waitingOn.get(id)!.size === 0);
  const reports = new Map<string, (() => void) | void>();
  const failures = new Map<string, unknown>();
  let nextReport = 0;
  let running = 0;

  const flushReports = (): void => {
    while (nextReport < order.length && reports.has(order[nextReport])) {
      reports.get(order[nextReport])?.();
      nextReport++;
    }
  };

  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (failures.size === 0 && running < concurrency && ready.length > 0) {
        const id = ready.shift()!;
        running++;
        Promise.resolve()
          .then(() => deployOne(id))
          .then((report) => {
            reports.set(id, report);
            for (const next of dependents.get(id) ?? []) {
              const deps = waitingOn.get(next)!;
              deps.delete(id);
              if (deps.size === 0) insertInOrder(ready, next, position);
            }
            flushReports();
          }, (err: unknown) => {
            failures.set(id, err);
          })
          .finally(() => {
            running--;
            if (running === 0 && (failures.size > 0 || ready.length === 0)) resolve();
            else pump();
          });
      }
      if (running === 0) resolve();
    };
    pump();
  });

  // What finished after a failure is still reported (and recorded by `deployOne`), in order, skipping the gaps.
  for (let i = nextReport; i < order.length; i++) reports.get(order[i])?.();
  if (failures.size > 0) {
    const first = [...failures.keys()].sort((a, b) => position.get(a)! - position.get(b)!)[0];
    throw failures.get(first);
  }
  const notRun = order.filter((id) => !reports.has(id));
  if (notRun.length > 0) throw new Error(`Resources never became ready (a dependency cycle?): ${notRun.join(', ')}`);
}

/** Inserts `id` into `ready`, which is sorted by dependency-order position. */
function insertInOrder(ready: string[], id: string, position: Map<string, number>): void {
  const p = position.get(id)!;
  const at = ready.findIndex((other) => position.get(other)! > p);
  if (at < 0) ready.push(id);
  else ready.splice(at, 0, id);
}
