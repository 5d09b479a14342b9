import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeRepositoriesCommand, ListTagsForResourceCommand } from '@aws-sdk/client-ecr-public';
import { RepositoryProperties, RESOURCE_TYPES } from '../../src/shared/handler-contract';
import { uniqueName } from '../support/ecr-fixtures';
import { createEvent, deleteEvent, Handler, invokeOk, useHandlerHarness } from '../support/handler-harness';
import { errorName } from '../support/rejections';

const h = useHandlerHarness();
const TYPE = RESOURCE_TYPES.repository;
const ASSET = path.resolve(__dirname, '../../assets/repository/index.js');

/** The handler as deployed: the esbuild bundle, with its own copy of the SDK. */
function loadBundledHandler(): Handler<RepositoryProperties> {
  if (!fs.existsSync(ASSET)) {
    throw new Error(`${ASSET} is missing: run \`npx projen bundle\` before this test`);
  }
  // The asset is plain CommonJS outside the TypeScript build, so it can only be required.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(ASSET) as { handler?: Handler<RepositoryProperties> };
  if (typeof mod.handler !== 'function') throw new Error(`${ASSET} exports no handler function`);
  return mod.handler;
}

describe('the bundled repository handler (assets/repository/index.js)', () => {
  test('creates a tagged repository and deletes it', async () => {
    const bundled = loadBundledHandler();
    const name = uniqueName('bundled');
    const props: RepositoryProperties = { RepositoryName: name, Tags: [{ Key: 'built-by', Value: 'esbuild' }] };

    const created = await invokeOk(h, bundled, createEvent(h, TYPE, props));
    expect(created.PhysicalResourceId).toBe(name);
    expect(created.Data).toMatchObject({ RepositoryName: name, RegistryId: h.accountId });
    const arn = `arn:aws:ecr-public::${h.accountId}:repository/${name}`;
    expect(created.Data?.RepositoryArn).toBe(arn);
    const tags = await h.client.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    expect(tags.tags).toEqual([{ Key: 'built-by', Value: 'esbuild' }]);

    await invokeOk(h, bundled, deleteEvent(h, TYPE, name, props));
    expect(await errorName(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })))).toBe('RepositoryNotFoundException');
  });
});
