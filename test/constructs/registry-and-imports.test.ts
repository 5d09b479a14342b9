import { RemovalPolicy, aws_iam as iam } from 'aws-cdk-lib';
import { ecrPublicStatements, newStack, resourcesOfType, template } from './support';
import { PublicRegistry, PublicRepository, PublicRepositoryCatalogData, PublicRepositoryPolicy } from '../../src';

const REGISTRY = 'Custom::EcrPublicRegistry';

describe('PublicRegistry', () => {
  test('manages the display name and exposes the registry attributes', () => {
    const stack = newStack();
    const registry = new PublicRegistry(stack, 'Registry', { displayName: 'Acme Corp' });
    template(stack).hasResourceProperties(REGISTRY, { DisplayName: 'Acme Corp' });
    const id = Object.keys(resourcesOfType(stack, REGISTRY))[0];
    for (const [attr, value] of Object.entries({
      RegistryId: registry.registryId,
      RegistryArn: registry.registryArn,
      RegistryAlias: registry.registryAlias,
      RegistryUri: registry.registryUri,
    })) {
      expect(stack.resolve(value)).toEqual({ 'Fn::GetAtt': [id, attr] });
    }
    // Registry operations are scoped to the registry ARN.
    const statements = ecrPublicStatements(stack);
    expect(statements).toHaveLength(1);
    expect(statements[0].Action).toEqual(expect.arrayContaining(['ecr-public:PutRegistryCatalogData', 'ecr-public:DescribeRegistries']));
    expect(JSON.stringify(statements[0].Resource)).toMatch(/:ecr-public::.*:registry\//);
  });

  test('is deployed after the repositories of its stack, whose first one creates the alias', () => {
    const stack = newStack();
    new PublicRegistry(stack, 'Registry', { displayName: 'Acme Corp' });
    new PublicRepository(stack, 'A', { repositoryName: 'acme/a' });
    new PublicRepository(stack, 'B', { repositoryName: 'acme/b' });
    const t = template(stack).toJSON();
    const registry = Object.values(resourcesOfType(stack, REGISTRY))[0];
    const repoIds = Object.keys(resourcesOfType(stack, 'Custom::EcrPublicRepository'));
    expect(registry.DependsOn).toEqual(expect.arrayContaining(repoIds));
    expect(t).toBeDefined();
  });

  test('its attributes are read again when the stack\'s repositories change', () => {
    const propsWith = (names: string[]) => {
      const stack = newStack();
      new PublicRegistry(stack, 'Registry', { displayName: 'Acme Corp' });
      for (const n of names) new PublicRepository(stack, n, { repositoryName: `acme/${n.toLowerCase()}` });
      return Object.values(resourcesOfType(stack, REGISTRY))[0].Properties;
    };
    expect(propsWith(['A']).Repositories).toEqual(propsWith(['A']).Repositories);
    expect(propsWith(['A']).Repositories).not.toEqual(propsWith(['A', 'B']).Repositories);
    expect(propsWith([]).Repositories).not.toEqual(propsWith(['A']).Repositories);
  });

  test('without a display name it only looks the registry up', () => {
    const stack = newStack();
    new PublicRegistry(stack, 'Registry');
    const [registry] = Object.values(resourcesOfType(stack, REGISTRY));
    expect(registry.Properties.DisplayName).toBeUndefined();
    const statements = ecrPublicStatements(stack);
    expect(statements[0].Action).toBe('ecr-public:DescribeRegistries');
  });
});

describe('imported repositories', () => {
  test('fromRepositoryName: ARN from the name, URI from a registry lookup, policy not touched', () => {
    const stack = newStack({ env: { account: '123456789012', region: 'eu-west-1' } });
    const repo = PublicRepository.fromRepositoryName(stack, 'Api', 'acme/api');
    expect(stack.resolve(repo.repositoryArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr-public::123456789012:repository/acme/api']],
    });
    expect(repo.registryId).toBe('123456789012');
    const uri = stack.resolve(repo.repositoryUri);
    const lookupId = Object.keys(resourcesOfType(stack, REGISTRY))[0];
    expect(uri).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [lookupId, 'RegistryUri'] }, '/acme/api']] });
    expect(repo.addToResourcePolicy(new iam.PolicyStatement({ actions: ['ecr-public:PutImage'], principals: [new iam.AnyPrincipal()] })).statementAdded)
      .toBe(false);
    template(stack).resourceCountIs('Custom::EcrPublicRepository', 0);
  });

  test('fromRepositoryAttributes with an alias needs no lookup', () => {
    const stack = newStack();
    const repo = PublicRepository.fromRepositoryAttributes(stack, 'Api', { repositoryName: 'acme/api', registryAlias: 'acme' });
    expect(repo.repositoryUri).toBe('public.ecr.aws/acme/acme/api');
    expect(repo.repositoryUriForTag('2.1')).toBe('public.ecr.aws/acme/acme/api:2.1');
    template(stack).resourceCountIs(REGISTRY, 0);
  });

  test('catalog data and policy work on an imported repository', () => {
    const stack = newStack();
    const repo = PublicRepository.fromRepositoryName(stack, 'Api', 'acme/api');
    new PublicRepositoryCatalogData(stack, 'Catalog', { repository: repo, description: 'The API', removalPolicy: RemovalPolicy.RETAIN });
    const policy = new PublicRepositoryPolicy(stack, 'Policy', { repository: repo });
    policy.addStatements(new iam.PolicyStatement({ actions: ['ecr-public:PutImage'], principals: [new iam.AccountPrincipal('111111111111')] }));
    const t = template(stack);
    t.hasResourceProperties('Custom::EcrPublicRepositoryCatalogData', { RepositoryName: 'acme/api', Description: 'The API', RetainOnDelete: 'true' });
    t.hasResourceProperties('Custom::EcrPublicRepositoryPolicy', { RepositoryName: 'acme/api', RetainOnDelete: 'false' });
    const [p] = Object.values(resourcesOfType(stack, 'Custom::EcrPublicRepositoryPolicy'));
    // The principal's partition is a pseudo parameter: join the text as CloudFormation would in the aws partition.
    const [, parts] = p.Properties.PolicyText['Fn::Join'];
    const text = parts.map((part: any) => (typeof part === 'string' ? part : part.Ref === 'AWS::Partition' ? 'aws' : '?')).join('');
    expect(JSON.parse(text)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'ecr-public:PutImage', Principal: { AWS: 'arn:aws:iam::111111111111:root' } }],
    });
  });
});

test('a PublicRepository keeps its own policy: a second policy resource on it is refused', () => {
  const stack = newStack();
  const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
  expect(() => new PublicRepositoryPolicy(stack, 'Extra', { repository: repo }))
    .toThrow(/TestStack\/Extra: repository is a PublicRepository, which keeps its own policy: use repository.addToResourcePolicy/);
});

test('a PublicRepository keeps its own catalog data: a second catalog resource on it is refused', () => {
  const stack = newStack();
  const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
  expect(() => new PublicRepositoryCatalogData(stack, 'Extra', { repository: repo, description: 'x' }))
    .toThrow(/TestStack\/Extra: repository is a PublicRepository, which keeps its own catalog data/);
});
