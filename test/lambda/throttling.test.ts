import { DescribeRegistriesCommand, DescribeRepositoriesCommand, ListTagsForResourceCommand } from '@aws-sdk/client-ecr-public';
import { handler } from '../../lambda/repository';
import { RepositoryProperties, RESOURCE_TYPES } from '../../src/shared/handler-contract';
import { uniqueName } from '../support/ecr-fixtures';
import { createEvent, deleteEvent, invokeOk, updateEvent, useHandlerHarness } from '../support/handler-harness';
import { errorName } from '../support/rejections';

const h = useHandlerHarness();
const TYPE = RESOURCE_TYPES.repository;
const FAULTS = { throttleRate: 0.3, seed: 7 };
/** The fewest API requests the lifecycle below makes: Create 1, Update 3 (describe, untag, tag), Delete 1. */
const MIN_REQUESTS = 5;

/** Whether each of the next `n` requests is throttled, probed with a client that does not retry. */
async function probeThrottles(n: number): Promise<boolean[]> {
  const fates: boolean[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await h.client.send(new DescribeRegistriesCommand({}));
      fates.push(false);
    } catch (err) {
      if ((err as Error).name !== 'ThrottlingException') throw err;
      fates.push(true);
    }
  }
  return fates;
}

describe('handlers under throttling', () => {
  afterEach(() => h.emu.setFaults({}));

  test('a Create, an Update and a Delete succeed through the SDK retries', async () => {
    // The fault sequence restarts from its seed at every setFaults: probe it, then replay it for the handler.
    h.emu.setFaults(FAULTS);
    const fates = await probeThrottles(MIN_REQUESTS);
    // Otherwise the handler could pass without meeting a single throttle.
    expect(fates).toContain(true);
    h.emu.setFaults(FAULTS);

    const name = uniqueName('throttled');
    const v1: RepositoryProperties = { RepositoryName: name, Tags: [{ Key: 'a', Value: '1' }] };
    const v2: RepositoryProperties = { RepositoryName: name, Tags: [{ Key: 'b', Value: '2' }] };
    await invokeOk(h, handler, createEvent(h, TYPE, v1));
    await invokeOk(h, handler, updateEvent(h, TYPE, name, v2, v1));
    h.emu.setFaults({});
    const tags = await h.client.send(new ListTagsForResourceCommand({ resourceArn: `arn:aws:ecr-public::${h.accountId}:repository/${name}` }));
    expect(tags.tags).toEqual([{ Key: 'b', Value: '2' }]);

    h.emu.setFaults(FAULTS);
    await invokeOk(h, handler, deleteEvent(h, TYPE, name, v2));
    h.emu.setFaults({});
    expect(await errorName(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })))).toBe('RepositoryNotFoundException');
  });
});
