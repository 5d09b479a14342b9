/**
 * The local sweep's copy of the lifecycle sweeper's contract (`src/shared/lifecycle-contract.ts`): the resource type it
 * looks for, the event it sends, and the result it reads back. `local/` compiles on its own, so these are copies;
 * `test/local/contract-copies.test.ts` holds them equal to the contract, as the Gallery's values are held to aws-cdk's.
 * The result is the answer of a handler bundle found in a cloud assembly: it is checked before it is read.
 */

/** The sweep resource type (`RESOURCE_TYPES.lifecycleSweep`). */
export const SWEEP_TYPE = 'Custom::EcrPublicLifecycleSweep';
/** The scheduled event's marker (`SCHEDULED_SWEEP`). */
export const SCHEDULED_SWEEP = 'cdk-ecr-public:lifecycle-sweep';

/** One repository's summary, as the sweeper returns it (`RepositorySweepResult`). */
export interface RepositorySweep {
  readonly repository: string;
  readonly dryRun: boolean;
  readonly imagesSeen: number;
  readonly expired: number;
  readonly kept: number;
  readonly byRule: Record<string, number>;
  readonly keptProtected: string[];
  readonly keptReferenced: string[];
  readonly complete: boolean;
  readonly failures: string[];
  /** In a dry run: the images that would be deleted. @default - none listed */
  readonly wouldExpire?: string[];
}

/** What a scheduled run returns (`ScheduledSweepResult`). */
export interface SweepRunResult {
  readonly now: string;
  readonly repositories: RepositorySweep[];
  readonly notReached: string[];
}

/** `value` as a {@link SweepRunResult}; an Error saying what is wrong with it otherwise. */
export function readSweepResult(value: unknown): SweepRunResult {
  const result = record(value, 'the result');
  string(result.now, 'now');
  strings(result.notReached, 'notReached');
  if (!Array.isArray(result.repositories)) throw malformed('repositories is not a list');
  result.repositories.forEach((item, i) => readRepositorySweep(item, `repositories[${i}]`));
  return value as SweepRunResult;
}

function readRepositorySweep(value: unknown, where: string): void {
  const r = record(value, where);
  string(r.repository, `${where}.repository`);
  for (const key of ['dryRun', 'complete'] as const) {
    if (typeof r[key] !== 'boolean') throw malformed(`${where}.${key} is not a boolean`);
  }
  for (const key of ['imagesSeen', 'expired', 'kept'] as const) {
    if (!Number.isSafeInteger(r[key])) throw malformed(`${where}.${key} is not an integer`);
  }
  const byRule = record(r.byRule, `${where}.byRule`);
  for (const [rule, count] of Object.entries(byRule)) {
    if (!Number.isSafeInteger(count)) throw malformed(`${where}.byRule.${rule} is not an integer`);
  }
  for (const key of ['keptProtected', 'keptReferenced', 'failures'] as const) strings(r[key], `${where}.${key}`);
  if (r.wouldExpire !== undefined) strings(r.wouldExpire, `${where}.wouldExpire`);
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(`${where} is not an object`);
  return value as Record<string, unknown>;
}

function string(value: unknown, where: string): void {
  if (typeof value !== 'string') throw malformed(`${where} is not a string`);
}

function strings(value: unknown, where: string): void {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw malformed(`${where} is not a list of strings`);
}

function malformed(why: string): Error {
  return new Error(`the sweeper answered a malformed result: ${why}`);
}
