import { App, CfnParameter, Errors, Stack, aws_iam as iam } from 'aws-cdk-lib';
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
