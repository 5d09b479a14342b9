import { RemovalPolicy, Tags, aws_iam as iam } from 'aws-cdk-lib';
import { FIXTURES, newStack, template } from './support';
import { Architecture, CatalogText, Logo, OperatingSystem, PublicRegistry, PublicRepository } from '../../src';

/** Asset hashes change with every handler build; the snapshot is about the template's shape. */
function withoutAssetHashes(json: unknown): unknown {
  return JSON.parse(JSON.stringify(json).replace(/[0-9a-f]{64}(\.zip|\.png)/g, 'ASSET-HASH$1'));
}

test('snapshot: registry, repository with full catalog data, policy and tags', () => {
  const stack = newStack({ env: { account: '123456789012', region: 'eu-west-1' } });
  new PublicRegistry(stack, 'Registry', { displayName: 'Acme Corp' });
  const repo = new PublicRepository(stack, 'Web', {
    repositoryName: 'acme/web',
    description: 'The Acme web server',
    architectures: [Architecture.X86_64, Architecture.ARM_64],
    operatingSystems: [OperatingSystem.LINUX],
    logo: Logo.fromFile(`${FIXTURES}/logo.png`),
    aboutText: CatalogText.fromFile(`${FIXTURES}/ABOUT.md`),
    usageText: CatalogText.fromString('Run `docker pull ...`'),
    removalPolicy: RemovalPolicy.DESTROY,
    emptyOnDelete: true,
  });
  repo.addToResourcePolicy(new iam.PolicyStatement({ actions: ['ecr-public:PutImage'], principals: [new iam.AccountPrincipal('111111111111')] }));
  Tags.of(repo).add('team', 'web');
  expect(withoutAssetHashes(template(stack).toJSON())).toMatchSnapshot();
});
