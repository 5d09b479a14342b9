/**
 * The local deployer and the local sweep are clients of our own contract, but `local/` compiles on its own (it imports
 * neither `src/` nor `lambda/`), so they hold copies of it. These tests hold each copy equal to the contract: a change
 * on one side that the other misses fails here, by value or by type.
 */
import { SDK_MAX_ATTEMPTS } from '../../lambda/shared/ecr-public-client';
import { OUR_TYPE_PREFIX } from '../../local/deploy/deploy';
import { MAX_ATTEMPTS } from '../../local/deploy/retry';
import { readSweepResult, RepositorySweep, SCHEDULED_SWEEP as LOCAL_SCHEDULED_SWEEP, SWEEP_TYPE, SweepRunResult } from '../../local/sweep/result';
import { RESOURCE_TYPE_PREFIX, RESOURCE_TYPES } from '../../src/shared/handler-contract';
import { RepositorySweepResult, SCHEDULED_SWEEP, ScheduledSweepResult } from '../../src/shared/lifecycle-contract';

/** True only when A and B are the same type (readonly and optional members included). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;

test('the deployer tells our resources by the contract\'s prefix, which every resource type carries', () => {
  expect(OUR_TYPE_PREFIX).toBe(RESOURCE_TYPE_PREFIX);
  for (const type of Object.values(RESOURCE_TYPES)) expect(type.startsWith(OUR_TYPE_PREFIX)).toBe(true);
});

test('the deployer retries its own calls as often as the handlers\' SDK clients retry theirs', () => {
  expect(MAX_ATTEMPTS).toBe(SDK_MAX_ATTEMPTS);
});

test('the sweep looks for the contract\'s resource type and sends the contract\'s scheduled event', () => {
  expect(SWEEP_TYPE).toBe(RESOURCE_TYPES.lifecycleSweep);
  expect(LOCAL_SCHEDULED_SWEEP).toBe(SCHEDULED_SWEEP);
});

test('the sweep reads the result type the sweeper returns, member for member', () => {
  const sameRepository: Equal<RepositorySweep, RepositorySweepResult> = true;
  const sameRun: Equal<SweepRunResult, ScheduledSweepResult> = true;
  expect([sameRepository, sameRun]).toEqual([true, true]);
});

describe('the sweep checks the sweeper\'s answer before reading it', () => {
  const repository: RepositorySweepResult = {
    repository: 'acme/web',
    dryRun: true,
    imagesSeen: 3,
    expired: 1,
    kept: 2,
    byRule: { 1: 1 },
    keptProtected: [],
    keptReferenced: ['sha256:aa'],
    complete: true,
    failures: [],
    wouldExpire: ['sha256:bb [] rule 1'],
  };
  const answer: ScheduledSweepResult = { now: '2026-12-01T00:00:00.000Z', repositories: [repository], notReached: [] };

  test('an answer of the contract\'s shape is read as it is', () => {
    expect(readSweepResult(JSON.parse(JSON.stringify(answer)))).toEqual(answer);
  });

  test.each([
    ['no answer', undefined, 'the result is not an object'],
    ['no list of repositories', { ...answer, repositories: 'acme/web' }, 'repositories is not a list'],
    ['a count that is not a number', { ...answer, repositories: [{ ...repository, expired: '1' }] }, 'repositories[0].expired is not an integer'],
    ['failures that are not strings', { ...answer, repositories: [{ ...repository, failures: [1] }] }, 'repositories[0].failures is not a list of strings'],
    ['notReached missing', { now: answer.now, repositories: [] }, 'notReached is not a list of strings'],
  ])('%s is refused, saying what is wrong', (_name, value, why) => {
    expect(() => readSweepResult(value)).toThrow(`the sweeper answered a malformed result: ${why}`);
  });
});
