import { Tags } from 'aws-cdk-lib';
import { addRegistryAndFullRepository, newStack, template } from './support';

/** Asset hashes change with every handler build; the snapshot is about the template's shape. */
function withoutAssetHashes(json: unknown): unknown {
  return JSON.parse(JSON.stringify(json).replace(/[0-9a-f]{64}(\.zip|\.png)/g, 'ASSET-HASH$1'));
}

test('snapshot: registry, repository with full catalog data, policy and tags', () => {
  const stack = newStack({ env: { account: '123456789012', region: 'eu-west-1' } });
  const repo = addRegistryAndFullRepository(stack);
  Tags.of(repo).add('team', 'web');
  expect(withoutAssetHashes(template(stack).toJSON())).toMatchSnapshot();
});
