import { RemovalPolicy, Stack, Tags, aws_iam as iam } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { FIXTURES, ecrPublicStatements, newStack, resourcesOfType, template } from './support';
import { Architecture, CatalogText, Logo, OperatingSystem, PublicRepository } from '../../src';

const REPOSITORY = 'Custom::EcrPublicRepository';
const CATALOG = 'Custom::EcrPublicRepositoryCatalogData';
const POLICY = 'Custom::EcrPublicRepositoryPolicy';

describe('PublicRepository', () => {
  test('creates one repository resource, retained by default, with the name given', () => {
    const stack = newStack();
    new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
    const t = template(stack);
    t.resourceCountIs(REPOSITORY, 1);
    t.hasResource(REPOSITORY, {
      Properties: { RepositoryName: 'acme/web', EmptyOnDelete: 'false' },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    t.resourceCountIs(CATALOG, 0);
    t.resourceCountIs(POLICY, 0);
  });

  test('generates a valid, stable name when none is given', () => {
    const names = [0, 1].map(() => {
      const stack = newStack();
      new PublicRepository(stack, 'My_Repo.With--Odd__Chars');
      const [resource] = Object.values(resourcesOfType(stack, REPOSITORY));
      return resource.Properties.RepositoryName as string;
    });
    expect(names[0]).toEqual(names[1]);
    expect(names[0]).toMatch(/^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/);
    expect(names[0].length).toBeGreaterThanOrEqual(2);
    expect(names[0].length).toBeLessThanOrEqual(205);
  });

  test('the handler is a Node.js 22 function shared by every repository of the stack', () => {
    const stack = newStack();
    for (let i = 0; i < 100; i++) new PublicRepository(stack, `Repo${i}`, { repositoryName: `acme/repo-${i}` });
    const t = template(stack);
    t.resourceCountIs(REPOSITORY, 100);
    t.resourceCountIs('AWS::Lambda::Function', 1);
    t.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs22.x', Handler: 'index.handler' });
    const fnId = Object.keys(resourcesOfType(stack, 'AWS::Lambda::Function'))[0];
    for (const r of Object.values(resourcesOfType(stack, REPOSITORY))) {
      expect(r.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    }
  });

  test('the handler role may act only on the repositories it manages', () => {
    const stack = newStack();
    new PublicRepository(stack, 'A', { repositoryName: 'acme/a' });
    new PublicRepository(stack, 'B', { repositoryName: 'acme/b' });
    const statements = ecrPublicStatements(stack);
    expect(statements.length).toBeGreaterThan(0);
    const resources = JSON.stringify(statements.map((s: any) => s.Resource));
    expect(resources).toContain(':ecr-public::');
    expect(resources).toContain(':repository/acme/a');
    expect(resources).toContain(':repository/acme/b');
    expect(resources).not.toContain('"*"');
    for (const s of statements) {
      expect(s.Action).toEqual(expect.arrayContaining(['ecr-public:CreateRepository', 'ecr-public:DeleteRepository']));
    }
  });

  test('removalPolicy DESTROY and emptyOnDelete reach the template', () => {
    const stack = newStack();
    new PublicRepository(stack, 'Web', {
      repositoryName: 'acme/web', removalPolicy: RemovalPolicy.DESTROY, emptyOnDelete: true, description: 'x',
    });
    const t = template(stack);
    t.hasResource(REPOSITORY, { Properties: { EmptyOnDelete: 'true' }, DeletionPolicy: 'Delete' });
    t.hasResourceProperties(CATALOG, { RetainOnDelete: 'false' });
  });

  test('emptyOnDelete without removalPolicy DESTROY is refused with the path and the property', () => {
    const stack = newStack();
    expect(() => new PublicRepository(stack, 'Web', { repositoryName: 'acme/web', emptyOnDelete: true }))
      .toThrow(/TestStack\/Web: emptyOnDelete requires removalPolicy: RemovalPolicy.DESTROY/);
  });

  test('catalog data carries every field, the logo as an asset location and never its bytes', () => {
    const stack = newStack();
    const repo = new PublicRepository(stack, 'Web', {
      repositoryName: 'acme/web',
      description: 'The Acme web server',
      architectures: [Architecture.X86_64, Architecture.ARM_64, Architecture.of('riscv64')],
      operatingSystems: [OperatingSystem.LINUX],
      logo: Logo.fromFile(`${FIXTURES}/logo.png`),
      aboutText: CatalogText.fromFile(`${FIXTURES}/ABOUT.md`),
      usageText: CatalogText.fromString('Run `docker pull ...`'),
    });
    const t = template(stack);
    t.hasResourceProperties(CATALOG, {
      RepositoryName: { Ref: Match.stringLikeRegexp('^Web[0-9A-F]{8}$') },
      Description: 'The Acme web server',
      Architectures: ['x86-64', 'ARM 64', 'riscv64'],
      OperatingSystems: ['Linux'],
      AboutText: Match.stringLikeRegexp('^# Acme web'),
      UsageText: 'Run `docker pull ...`',
      LogoBucket: Match.anyValue(),
      LogoKey: Match.stringLikeRegexp('\\.png$'),
      RetainOnDelete: 'true',
    });
    expect(JSON.stringify(t.toJSON())).not.toContain('iVBORw0KGgo'); // base64 of the PNG signature
    expect(repo.catalogData).toBeDefined();
    // The catalog handler may read exactly the logo object.
    const statements = Object.values(resourcesOfType(stack, 'AWS::IAM::Policy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => s.Action === 's3:GetObject');
    expect(statements).toHaveLength(1);
    expect(JSON.stringify(statements[0].Resource)).toMatch(/\.png/);
  });

  test('Tags.of adds resource tags to the repository', () => {
    const stack = newStack();
    const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
    Tags.of(repo).add('team', 'web');
    Tags.of(stack).add('env', 'prod');
    const [resource] = Object.values(resourcesOfType(stack, REPOSITORY));
    expect(resource.Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'team', Value: 'web' }, { Key: 'env', Value: 'prod' }]));
    expect(resource.Properties.Tags).toHaveLength(2);
  });

  test('attributes are deploy-time values of the repository resource', () => {
    const stack = newStack();
    const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
    const id = Object.keys(resourcesOfType(stack, REPOSITORY))[0];
    expect(stack.resolve(repo.repositoryUri)).toEqual({ 'Fn::GetAtt': [id, 'RepositoryUri'] });
    expect(stack.resolve(repo.repositoryArn)).toEqual({ 'Fn::GetAtt': [id, 'RepositoryArn'] });
    expect(stack.resolve(repo.registryId)).toEqual({ 'Fn::GetAtt': [id, 'RegistryId'] });
    expect(stack.resolve(repo.repositoryName)).toEqual({ Ref: id });
    expect(stack.resolve(repo.repositoryUriForTag('1.0'))).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'RepositoryUri'] }, ':1.0']],
    });
    expect(stack.resolve(repo.repositoryUriForDigest('sha256:abc'))).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'RepositoryUri'] }, '@sha256:abc']],
    });
  });

  test('addToResourcePolicy accumulates statements into one policy resource', () => {
    const stack = newStack();
    const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web', removalPolicy: RemovalPolicy.DESTROY });
    const first = repo.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['ecr-public:BatchCheckLayerAvailability'], principals: [new iam.AccountPrincipal('111111111111')],
    }));
    repo.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['ecr-public:PutImage'], principals: [new iam.AccountPrincipal('222222222222')],
    }));
    expect(first.statementAdded).toBe(true);
    const t = template(stack);
    t.resourceCountIs(POLICY, 1);
    const [policy] = Object.values(resourcesOfType(stack, POLICY));
    const text = JSON.stringify(policy.Properties.PolicyText);
    expect(text).toContain('111111111111');
    expect(text).toContain('222222222222');
    expect(policy.Properties.RetainOnDelete).toBe('false');
  });

  test('grantPush grants exactly the push actions on the repository and the auth actions on *', () => {
    const stack = newStack();
    const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
    const role = new iam.Role(stack, 'Ci', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
    repo.grantPush(role);
    const policy = Object.entries(resourcesOfType(stack, 'AWS::IAM::Policy'))
      .find(([id]) => id.startsWith('CiDefaultPolicy'))![1];
    const statements = policy.Properties.PolicyDocument.Statement.map((st: any) => ({ ...st, Action: [...st.Action].sort() }));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'ecr-public:BatchCheckLayerAvailability', 'ecr-public:CompleteLayerUpload', 'ecr-public:InitiateLayerUpload',
          'ecr-public:PutImage', 'ecr-public:UploadLayerPart',
        ],
        Resource: { 'Fn::GetAtt': [Object.keys(resourcesOfType(stack, REPOSITORY))[0], 'RepositoryArn'] },
      },
      { Effect: 'Allow', Action: ['ecr-public:GetAuthorizationToken', 'sts:GetServiceBearerToken'], Resource: '*' },
    ]);
  });

  test('works in a stack of any region and in an environment-agnostic stack', () => {
    for (const env of [{ region: 'eu-west-1', account: '123456789012' }, { region: 'ap-southeast-2' }, undefined]) {
      const stack = newStack({ env });
      new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
      template(stack).resourceCountIs(REPOSITORY, 1);
      expect(JSON.stringify(stack.resolve(Stack.of(stack).region))).toBeDefined();
    }
  });
});

test('handler roles carry no managed policy and write only to their own log group', () => {
  const stack = newStack();
  new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
  const roles = Object.values(resourcesOfType(stack, 'AWS::IAM::Role'));
  expect(roles).toHaveLength(1);
  expect(roles[0].Properties.ManagedPolicyArns).toBeUndefined();
  const logGroupId = Object.keys(resourcesOfType(stack, 'AWS::Logs::LogGroup'))[0];
  const logStatements = Object.values(resourcesOfType(stack, 'AWS::IAM::Policy'))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
    .filter((s: any) => JSON.stringify(s.Action).includes('logs:'));
  expect(logStatements).toEqual([{
    Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
  }]);
  template(stack).hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logGroupId } } });
});

test('each resource has its own handler policy and depends on it, so a removed repository can still be deleted', () => {
  const stack = newStack();
  new PublicRepository(stack, 'A', { repositoryName: 'acme/a', description: 'a' });
  new PublicRepository(stack, 'B', { repositoryName: 'acme/b' });
  const policies = resourcesOfType(stack, 'AWS::IAM::Policy');
  for (const [type, count] of [[REPOSITORY, 2], [CATALOG, 1]] as const) {
    const resources = Object.values(resourcesOfType(stack, type));
    expect(resources).toHaveLength(count);
    for (const resource of resources) {
      const own = (resource.DependsOn as string[]).filter((id) => id in policies);
      expect(own).toHaveLength(1);
      const statements = policies[own[0]].Properties.PolicyDocument.Statement;
      // Scoped to this resource's repository: its name, or the reference to the repository resource that carries it.
      const name = resource.Properties.RepositoryName;
      const scope = typeof name === 'string' ? `:repository/${name}"` : `:repository/",${JSON.stringify(name)}`;
      expect(JSON.stringify(statements)).toContain(scope);
    }
  }
});
