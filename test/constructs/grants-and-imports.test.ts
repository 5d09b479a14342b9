import { App, CfnParameter, Errors, Stack, aws_iam as iam } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { newStack, resourcesOfType } from './support';
import { PublicRepository, PublicRepositoryPolicy } from '../../src';

const AUTH = ['ecr-public:GetAuthorizationToken', 'sts:GetServiceBearerToken'];
const READ = [
  'ecr-public:DescribeImages', 'ecr-public:DescribeImageTags', 'ecr-public:DescribeRepositories',
  'ecr-public:GetRepositoryCatalogData', 'ecr-public:GetRepositoryPolicy', 'ecr-public:ListTagsForResource',
];
const PUSH = [
  'ecr-public:BatchCheckLayerAvailability', 'ecr-public:InitiateLayerUpload', 'ecr-public:UploadLayerPart',
  'ecr-public:CompleteLayerUpload', 'ecr-public:PutImage',
];

/** The statements of the role's default policy, actions sorted, resources resolved. */
function roleStatements(stack: Stack, roleId: string): Array<{ Action: string[]; Resource: unknown }> {
  const policy = Object.entries(resourcesOfType(stack, 'AWS::IAM::Policy')).find(([id]) => id.startsWith(`${roleId}DefaultPolicy`));
  if (!policy) return [];
  return policy[1].Properties.PolicyDocument.Statement.map((s: any) => ({
    Action: [s.Action].flat().sort(),
    Resource: s.Resource,
  }));
}

function withRole(): { stack: Stack; role: iam.Role } {
  const stack = newStack();
  const role = new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
  return { stack, role };
}

describe('grants', () => {
  test('grantPull: the two authentication actions on *', () => {
    const { stack, role } = withRole();
    new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' }).grantPull(role);
    expect(roleStatements(stack, 'Grantee')).toEqual([{ Action: [...AUTH].sort(), Resource: '*' }]);
  });

  test('grantRead: the metadata reads on the repository ARN only', () => {
    const { stack, role } = withRole();
    const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
    repo.grantRead(role);
    const statements = roleStatements(stack, 'Grantee');
    expect(statements).toEqual([{ Action: [...READ].sort(), Resource: stack.resolve(repo.repositoryArn) }]);
  });

  test('grantPullPush: push on the repository, authentication on *', () => {
    const { stack, role } = withRole();
    const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
    repo.grantPullPush(role);
    const statements = roleStatements(stack, 'Grantee');
    expect(statements).toEqual(expect.arrayContaining([
      { Action: [...PUSH].sort(), Resource: stack.resolve(repo.repositoryArn) },
      { Action: [...AUTH].sort(), Resource: '*' },
    ]));
    expect(statements.flatMap((s) => s.Action)).toHaveLength(PUSH.length + AUTH.length);
  });

  test('grant(grantee, ...actions) grants exactly those actions on the repository', () => {
    const { stack, role } = withRole();
    const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
    const grant = repo.grant(role, 'ecr-public:BatchDeleteImage');
    expect(grant.success).toBe(true);
    expect(roleStatements(stack, 'Grantee')).toEqual([{ Action: ['ecr-public:BatchDeleteImage'], Resource: stack.resolve(repo.repositoryArn) }]);
  });

  test('an imported repository takes identity-side grants on its ARN and leaves its policy alone', () => {
    const { stack, role } = withRole();
    const imported = PublicRepository.fromRepositoryArn(stack, 'Api', 'arn:aws:ecr-public::123456789012:repository/acme/api');
    imported.grantRead(role);
    imported.grantPush(role);
    const statements = roleStatements(stack, 'Grantee');
    expect(statements).toEqual(expect.arrayContaining([
      { Action: [...READ].sort(), Resource: 'arn:aws:ecr-public::123456789012:repository/acme/api' },
      { Action: [...PUSH].sort(), Resource: 'arn:aws:ecr-public::123456789012:repository/acme/api' },
    ]));
    const added = imported.addToResourcePolicy(new iam.PolicyStatement({ actions: ['ecr-public:PutImage'], principals: [new iam.AnyPrincipal()] }));
    expect(added.statementAdded).toBe(false);
    expect(resourcesOfType(stack, 'Custom::EcrPublicRepositoryPolicy')).toEqual({});
  });
});

/** The repository policy the repository resource carries, parsed (a template string or an Fn::Join of one). */
function repositoryPolicy(stack: Stack): any {
  const repo = Object.values(resourcesOfType(stack, 'Custom::EcrPublicRepository'))[0] as any;
  const text = repo.Properties.PolicyText;
  if (typeof text === 'string') return text === '' ? undefined : JSON.parse(text);
  return JSON.parse(text['Fn::Join'][1].map((part: unknown) => (typeof part === 'string' ? part : JSON.stringify(part).replace(/"/g, '\''))).join(''));
}

describe('grants to another account go into the repository policy, as aws-ecr\'s do', () => {
  const env = { account: '111122223333', region: 'eu-west-1' };

  test('grantPush to an AccountPrincipal: the push actions in the repository policy, success, nothing in an identity policy', () => {
    const stack = new Stack(new App(), 'Owner', { env });
    const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
    const grant = repo.grantPush(new iam.AccountPrincipal('222233334444'));
    expect(grant.success).toBe(true);
    expect(repositoryPolicy(stack).Statement).toEqual([{
      Effect: 'Allow',
      Principal: { AWS: "arn:{'Ref':'AWS::Partition'}:iam::222233334444:root" },
      Action: PUSH,
    }]);
    expect(JSON.stringify(resourcesOfType(stack, 'AWS::IAM::Policy'))).not.toContain('ecr-public:PutImage');
  });

  test('a role of this account: its identity policy only, the repository policy stays empty', () => {
    const stack = new Stack(new App(), 'Owner', { env });
    const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
    repo.grantPush(new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') }));
    expect(repositoryPolicy(stack)).toBeUndefined();
    expect(roleStatements(stack, 'Grantee').flatMap((s) => s.Action).sort()).toEqual([...PUSH, ...AUTH].sort());
  });

  test('a role of a stack in another account: synth succeeds; its account is trusted for principals with its tag', () => {
    const app = new App();
    const owner = new Stack(app, 'Owner', { env });
    const repo = new PublicRepository(owner, 'Web', { repositoryName: 'acme/web' });
    const partner = new Stack(app, 'Partner', { env: { account: '222233334444', region: 'eu-west-1' } });
    const role = new iam.Role(partner, 'Ci', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
    const grant = repo.grantPush(role);
    expect(grant.success).toBe(true);
    const assembly = app.synth();
    const statement = repositoryPolicy(owner).Statement[0];
    expect(statement).toMatchObject({ Principal: { AWS: "arn:{'Ref':'AWS::Partition'}:iam::222233334444:root" }, Action: PUSH });
    const tag = statement.Condition.StringEquals['aws:PrincipalTag/aws-cdk:id'];
    expect(tag).toMatch(/^Partner_c8[0-9a-f]{40}$/);
    const roleProps = Object.values<any>(assembly.getStackByName('Partner').template.Resources).find((r) => r.Type === 'AWS::IAM::Role').Properties;
    expect(roleProps.Tags).toEqual([{ Key: 'aws-cdk:id', Value: tag }]);
    expect(roleStatements(partner, 'Ci').flatMap((s) => s.Action).sort()).toEqual([...PUSH, ...AUTH].sort());
  });

  test('an imported repository of another account: the grantee\'s identity policy, and a warning that its policy is not changed', () => {
    const stack = new Stack(new App(), 'Consumer', { env: { account: '222233334444', region: 'eu-west-1' } });
    const imported = PublicRepository.fromRepositoryArn(stack, 'Tools', 'arn:aws:ecr-public::111122223333:repository/acme/tools');
    imported.grantPush(new iam.AccountPrincipal('333344445555'));
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('not granted: a principal of another account needs the repository policy'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].id).toBe('/Consumer/Tools');
    expect(JSON.stringify(warnings[0].entry.data)).toContain('AccountPrincipal(333344445555)');
  });
});

describe('fromRepositoryArn', () => {
  test('takes the name and the registry id from a literal ARN', () => {
    const stack = newStack();
    const repo = PublicRepository.fromRepositoryArn(stack, 'Api', 'arn:aws:ecr-public::123456789012:repository/acme/api');
    expect(repo.repositoryName).toBe('acme/api');
    expect(repo.registryId).toBe('123456789012');
    expect(repo.repositoryArn).toBe('arn:aws:ecr-public::123456789012:repository/acme/api');
    expect(repo.repositoryUriForTag('1.0')).toMatch(/\/acme\/api:1\.0$/);
  });

  test('takes the name and the registry id from an ARN that is a token, at deploy time', () => {
    const stack = newStack();
    const param = new CfnParameter(stack, 'RepoArn', { type: 'String' });
    const repo = PublicRepository.fromRepositoryArn(stack, 'Api', param.valueAsString);
    expect(stack.resolve(repo.repositoryName)).toEqual({ 'Fn::Select': [1, { 'Fn::Split': [':repository/', { Ref: 'RepoArn' }] }] });
    expect(stack.resolve(repo.registryId)).toEqual({ 'Fn::Select': [4, { 'Fn::Split': [':', { Ref: 'RepoArn' }] }] });
    expect(stack.resolve(repo.repositoryArn)).toEqual({ Ref: 'RepoArn' });
  });

  test.each([
    ['a private ECR ARN', 'arn:aws:ecr:us-east-1:123456789012:repository/acme/api'],
    ['an ARN with a region', 'arn:aws:ecr-public:us-east-1:123456789012:repository/acme/api'],
    ['a registry ARN', 'arn:aws:ecr-public::123456789012:registry/123456789012'],
    ['no account', 'arn:aws:ecr-public:::repository/acme/api'],
    ['not an ARN', 'acme/api'],
  ])('refuses %s, naming the path and the property', (_what, arn) => {
    const stack = newStack();
    expect(() => PublicRepository.fromRepositoryArn(stack, 'Api', arn))
      .toThrow(/TestStack: repositoryArn must be a public repository ARN, arn:aws:ecr-public::<account>:repository\/<name>/);
  });

  test('refuses an ARN whose name breaks the repository-name rule', () => {
    const stack = newStack();
    expect(() => PublicRepository.fromRepositoryArn(stack, 'Api', 'arn:aws:ecr-public::123456789012:repository/Acme/API'))
      .toThrow(/TestStack: repositoryArn must be lower-case letters and digits/);
  });
});

describe('repository policies: no resources', () => {
  const principals = [new iam.AccountPrincipal('111122223333')];

  test('a statement with principals and actions but no resources synthesizes', () => {
    const stack = newStack();
    const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
    repo.addToResourcePolicy(new iam.PolicyStatement({ principals, actions: ['ecr-public:PutImage'] }));
    const [repository] = Object.values(resourcesOfType(stack, 'Custom::EcrPublicRepository'));
    expect(JSON.stringify(repository.Properties.PolicyText)).toContain('ecr-public:PutImage');
    expect(JSON.stringify(repository.Properties.PolicyText)).not.toContain('Resource');
  });

  test.each([
    ['resources', { resources: ['*'] }, 'Resource'],
    ['notResources', { notResources: ['arn:aws:ecr-public::111122223333:repository/x'] }, 'NotResource'],
  ])('a statement with %s fails synth, naming the path and saying ECR refuses it', (_prop, extra, element) => {
    const app = new App();
    const stack = new Stack(app, 'TestStack');
    const repo = new PublicRepository(stack, 'Web', { repositoryName: 'acme/web' });
    repo.addToResourcePolicy(new iam.PolicyStatement({ principals, actions: ['ecr-public:PutImage'], ...extra }));
    expect(() => app.synth()).toThrow(new RegExp(
      `TestStack/Web\\] policy: statement 0 has a ${element} element, which ECR refuses in repository policies`));
  });

  test('a statement without principals fails synth on an imported repository\'s policy too', () => {
    const app = new App();
    const stack = new Stack(app, 'TestStack');
    const imported = PublicRepository.fromRepositoryName(stack, 'Api', 'acme/api');
    new PublicRepositoryPolicy(stack, 'ApiPolicy', { repository: imported })
      .addStatements(new iam.PolicyStatement({ sid: 'NoOne', actions: ['ecr-public:PutImage'] }));
    expect(() => app.synth()).toThrow(/TestStack\/ApiPolicy\] document: statement 0 \(Sid "NoOne"\) must name principals/);
  });
});

describe('synth-time errors', () => {
  test('are aws-cdk-lib ValidationErrors that name the path, the property and the rule', () => {
    const stack = newStack();
    let error: unknown;
    try {
      new PublicRepository(stack, 'Web', { repositoryName: 'Not Valid' });
    } catch (e) {
      error = e;
    }
    expect(Errors.isValidationError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^TestStack\/Web: repositoryName must be lower-case letters/);
  });
});
