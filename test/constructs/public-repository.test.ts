import { RemovalPolicy, Tags, aws_iam as iam } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { FIXTURES, ecrPublicStatements, newStack, resourcesOfType, template } from './support';
import { Architecture, CatalogText, Logo, OperatingSystem, PublicRepository } from '../../src';

const REPOSITORY = 'Custom::EcrPublicRepository';
const CATALOG = 'Custom::EcrPublicRepositoryCatalogData';
const POLICY = 'Custom::EcrPublicRepositoryPolicy';
const ECR_ACTIONS = [
  'ecr-public:CreateRepository', 'ecr-public:DeleteRepository', 'ecr-public:DescribeRepositories',
  'ecr-public:TagResource', 'ecr-public:UntagResource', 'ecr-public:ListTagsForResource',
  'ecr-public:PutRepositoryCatalogData', 'ecr-public:SetRepositoryPolicy', 'ecr-public:DeleteRepositoryPolicy',
];

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
    // The repository resource carries its catalog and policy: no other resource may set them, and an empty policy text
    // is sent, so that removing the last statement later is an update that clears it.
    t.resourceCountIs(CATALOG, 0);
    t.resourceCountIs(POLICY, 0);
    const [repository] = Object.values(resourcesOfType(stack, REPOSITORY));
    expect(Object.keys(repository.Properties).sort()).toEqual(['EmptyOnDelete', 'PolicyText', 'RepositoryName', 'ServiceToken']);
    expect(repository.Properties.PolicyText).toBe('');
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

  test('a generated name adds no annotation to every synth (it is in the template and the repositoryName attribute)', () => {
    const stack = newStack();
    new PublicRepository(stack, 'Generated');
    const annotations = Annotations.fromStack(stack);
    expect([...annotations.findInfo('*', Match.anyValue()), ...annotations.findWarning('*', Match.anyValue())]).toEqual([]);
  });

  test('the handler is a Node.js 22 function shared by every repository of the stack', () => {
    const stack = newStack();
    for (let i = 0; i < 100; i++) new PublicRepository(stack, `Repo${i}`, { repositoryName: `acme/repo-${i}` });
    const t = template(stack);
    t.resourceCountIs(REPOSITORY, 100);
    // One function, however many repositories: the repository handler also sets the catalog and the policy.
    t.resourceCountIs('AWS::Lambda::Function', 1);
    // A stack of 100 repositories is 100 resources and the handler's four (function, role, policy, log group).
    expect(Object.keys(t.toJSON().Resources)).toHaveLength(104);
    t.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs22.x', Handler: 'index.handler' });
    const tokens = new Set(Object.values(resourcesOfType(stack, REPOSITORY)).map((r) => JSON.stringify(r.Properties.ServiceToken)));
    expect(tokens.size).toBe(1);
    expect(Object.keys(resourcesOfType(stack, 'AWS::Lambda::Function'))).toContain(JSON.parse([...tokens][0])['Fn::GetAtt'][0]);
  });

  test('the handler role acts on the account\'s public repositories, with one statement however many there are', () => {
    const policyOf = (count: number): any[] => {
      const stack = newStack({ env: { account: '123456789012', region: 'eu-west-1' } });
      for (let i = 0; i < count; i++) new PublicRepository(stack, `Repo${i}`, { repositoryName: `acme/repo-${i}` });
      return ecrPublicStatements(stack);
    };
    const one = policyOf(1);
    expect(one.filter((st) => JSON.stringify(st.Action).includes('CreateRepository'))).toEqual([{
      Effect: 'Allow',
      Action: ECR_ACTIONS,
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr-public::123456789012:repository/*']] },
    }]);
    // The same policy for 100 repositories: the role's inline policies stay far below IAM's 10,240 characters, and
    // removing or renaming a repository changes no permission its delete needs.
    expect(policyOf(100)).toEqual(one);
  });

  test('removalPolicy DESTROY and emptyOnDelete reach the template', () => {
    const stack = newStack();
    new PublicRepository(stack, 'Web', {
      repositoryName: 'acme/web', removalPolicy: RemovalPolicy.DESTROY, emptyOnDelete: true, description: 'x',
    });
    const t = template(stack);
    t.hasResource(REPOSITORY, { Properties: { EmptyOnDelete: 'true', Description: 'x' }, DeletionPolicy: 'Delete' });
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
    const asset = (extension: string) => Match.stringLikeRegexp(`^[0-9a-f]{64}\\${extension}$`);
    t.hasResourceProperties(REPOSITORY, {
      RepositoryName: 'acme/web',
      Description: 'The Acme web server',
      Architectures: ['x86-64', 'ARM 64', 'riscv64'],
      OperatingSystems: ['Linux'],
      AboutTextBucket: Match.anyValue(),
      AboutTextKey: asset('.md'),
      UsageTextBucket: Match.anyValue(),
      UsageTextKey: asset('.md'),
      LogoBucket: Match.anyValue(),
      LogoKey: asset('.png'),
    });
    // Texts and logo travel as assets: neither the markdown nor the PNG's bytes are in the template.
    const json = JSON.stringify(t.toJSON());
    expect(json).not.toContain('iVBORw0KGgo'); // base64 of the PNG signature
    expect(json).not.toContain('# Acme web');
    expect(json).not.toContain('docker pull');
    expect(stack.resolve(repo.logoUrl)).toEqual({ 'Fn::GetAtt': [Object.keys(resourcesOfType(stack, REPOSITORY))[0], 'LogoUrl'] });
    // The catalog handler may read the stack's assets (the bootstrap asset bucket's objects), nothing else of S3.
    const statements = Object.values(resourcesOfType(stack, 'AWS::IAM::Policy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => JSON.stringify(s.Action).includes('s3:'));
    expect(statements).toHaveLength(1);
    expect(statements[0].Action).toBe('s3:GetObject');
    expect(JSON.stringify(statements[0].Resource)).toMatch(/cdk-hnb659fds-assets-.*\/\*"/);
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
    t.resourceCountIs(POLICY, 0);
    const [id, repository] = Object.entries(resourcesOfType(stack, REPOSITORY))[0];
    const text = JSON.stringify(repository.Properties.PolicyText);
    expect(text).toContain('111111111111');
    expect(text).toContain('222222222222');
    expect(stack.resolve((first.policyDependable as any).node.defaultChild.logicalId)).toBe(id);
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

  test('works in a stack of any region and in an environment-agnostic stack: nothing of the region reaches the handler', () => {
    const seen: unknown[] = [];
    for (const env of [{ region: 'eu-west-1', account: '123456789012' }, { region: 'ap-southeast-2' }, undefined]) {
      const stack = newStack({ env });
      new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
      template(stack).resourceCountIs(REPOSITORY, 1);
      // The handler's client targets us-east-1 whatever the stack's Region: neither the resource's properties nor the
      // function's environment may carry the stack's Region (a literal, or the AWS::Region of an agnostic stack).
      const [resource] = Object.values(resourcesOfType(stack, REPOSITORY));
      const { ServiceToken: _token, ...properties } = resource.Properties;
      const environments = Object.values(resourcesOfType(stack, 'AWS::Lambda::Function')).map((f) => f.Properties.Environment ?? {});
      const handlerInputs = JSON.stringify([properties, environments]);
      expect(handlerInputs).not.toContain('AWS::Region');
      if (env?.region) expect(handlerInputs).not.toContain(env.region);
      seen.push(properties);
    }
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[2]).toEqual(seen[0]);
  });
});

test('handler roles carry no managed policy and write only to their own log group', () => {
  const stack = newStack();
  new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
  const roles = Object.values(resourcesOfType(stack, 'AWS::IAM::Role'));
  expect(roles).toHaveLength(1);
  for (const role of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  const logGroupIds = Object.keys(resourcesOfType(stack, 'AWS::Logs::LogGroup'));
  expect(logGroupIds).toHaveLength(1);
  const logStatements = Object.values(resourcesOfType(stack, 'AWS::IAM::Policy'))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
    .filter((s: any) => JSON.stringify(s.Action).includes('logs:'));
  expect(logStatements).toEqual(logGroupIds.map((id) => ({
    Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [id, 'Arn'] },
  })));
  for (const id of logGroupIds) {
    template(stack).hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: id } } });
  }
});

test('a handler role\'s inline policy stays under IAM\'s 10,240 characters with 100 repositories, images and catalogs', () => {
  const stack = newStack({ env: { account: '123456789012', region: 'eu-west-1' } });
  for (let i = 0; i < 100; i++) {
    new PublicRepository(stack, `Repo${i}`, { repositoryName: `acme/repository-with-a-long-name-${i}`, description: `Repository ${i}` });
  }
  const byRole = new Map<string, number>();
  for (const policy of Object.values(resourcesOfType(stack, 'AWS::IAM::Policy'))) {
    for (const role of policy.Properties.Roles) {
      const key = JSON.stringify(role);
      byRole.set(key, (byRole.get(key) ?? 0) + JSON.stringify(policy.Properties.PolicyDocument).length);
    }
  }
  // One handler role, whose statements are added once however many repositories use them (no managed-policy overflow).
  expect(byRole.size).toBe(1);
  for (const size of byRole.values()) expect(size).toBeLessThan(2000);
  template(stack).resourceCountIs('AWS::IAM::ManagedPolicy', 0);
});

