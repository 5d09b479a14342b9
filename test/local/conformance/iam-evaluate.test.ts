/**
 * The emulator's IAM evaluation (`local/iam/evaluate.ts`, `policy.ts`) on the cases AWS documents: identity and
 * resource policies within one account and across two, explicit denies, the account root, wildcards and their case
 * rules, the conditions our grants write (`aws:PrincipalTag/aws-cdk:id`) and common user policies use, and what the
 * emulator cannot evaluate, which must never allow.
 */
import { AccessRequest, authorize, Caller } from '../../../local/iam/evaluate';
import { parsePolicy, Policy, PolicyError } from '../../../local/iam/policy';

const A = '111122223333';
const B = '444455556666';
const REPO = `arn:aws:ecr-public::${A}:repository/acme/web`;
const OTHER = `arn:aws:ecr-public::${A}:repository/acme/other`;
const PUT = 'ecr-public:PutImage';

function identity(name: string, ...statements: object[]): Policy {
  return parsePolicy(name, { Version: '2012-10-17', Statement: statements }, 'identity');
}

function repositoryPolicy(...statements: object[]): Policy {
  return parsePolicy('repository policy of acme/web', JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'resource');
}

function role(account: string, name: string, policies: readonly Policy[] = [], tags: Record<string, string> = {}): Caller {
  return {
    arn: `arn:aws:sts::${account}:assumed-role/${name}/session`,
    principalArn: `arn:aws:iam::${account}:role/${name}`,
    account,
    type: 'AssumedRole',
    tags: new Map(Object.entries(tags)),
    policies,
  };
}

function root(account: string): Caller {
  const arn = `arn:aws:iam::${account}:root`;
  return { arn, principalArn: arn, account, type: 'Account', tags: new Map(), policies: [] };
}

const onRepo = (extra: Partial<AccessRequest> = {}): AccessRequest => ({ action: PUT, resource: REPO, resourceAccount: A, ...extra });
const allowPut = { Effect: 'Allow', Action: PUT, Resource: REPO };

describe('one account', () => {
  test('an identity policy allows exactly its actions on its resources; anything else is denied in IAM\'s words', () => {
    const ci = role(A, 'Ci', [identity('Ci/Default', allowPut)]);
    expect(authorize(ci, onRepo())).toEqual({ allowed: true });
    expect(authorize(ci, onRepo({ resource: OTHER }))).toEqual({
      allowed: false,
      reason: 'no-identity-allow',
      message: `User: arn:aws:sts::${A}:assumed-role/Ci/session is not authorized to perform: ecr-public:PutImage on resource: ${OTHER} `
        + 'because no identity-based policy allows the ecr-public:PutImage action',
    });
    expect(authorize(ci, onRepo({ action: 'ecr-public:BatchDeleteImage' }))).toMatchObject({ allowed: false, reason: 'no-identity-allow' });
  });

  test('an explicit Deny wins over any Allow, in an identity or a resource policy', () => {
    const ci = role(A, 'Ci', [identity('Ci/Default', { Effect: 'Allow', Action: 'ecr-public:*', Resource: '*' }), identity('Ci/Guard', { Effect: 'Deny', Action: PUT, Resource: REPO })]);
    expect(authorize(ci, onRepo())).toMatchObject({ allowed: false, reason: 'explicit-deny-identity', message: expect.stringMatching(/with an explicit deny in an identity-based policy$/) });
    const plain = role(A, 'Plain', [identity('Plain/Default', allowPut)]);
    const denying = repositoryPolicy({ Effect: 'Deny', Principal: '*', Action: 'ecr-public:Put*' });
    expect(authorize(plain, onRepo({ resourcePolicy: denying }))).toMatchObject({ allowed: false, reason: 'explicit-deny-resource' });
    expect(authorize(root(A), onRepo({ resourcePolicy: denying }))).toMatchObject({ allowed: false, reason: 'explicit-deny-resource' });
  });

  test('a repository policy naming the role allows it without an identity policy; naming the account only delegates', () => {
    const bare = role(A, 'Bare');
    expect(authorize(bare, onRepo({ resourcePolicy: repositoryPolicy({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:role/Bare` }, Action: PUT }) })))
      .toEqual({ allowed: true });
    expect(authorize(bare, onRepo({ resourcePolicy: repositoryPolicy({ Effect: 'Allow', Principal: { AWS: A }, Action: PUT }) })))
      .toMatchObject({ allowed: false, reason: 'no-identity-allow' });
  });

  test('the root may do everything in its account', () => {
    expect(authorize(root(A), onRepo())).toEqual({ allowed: true });
    expect(authorize(root(A), { action: 'ecr-public:GetAuthorizationToken', resource: '*' })).toEqual({ allowed: true });
  });
});

describe('two accounts', () => {
  const ciB = role(B, 'Ci', [identity('Ci/Default', allowPut)]);

  test('a principal of another account needs its identity policy and the repository policy', () => {
    expect(authorize(ciB, onRepo())).toMatchObject({ allowed: false, reason: 'no-resource-allow', message: expect.stringMatching(/because no resource-based policy allows the ecr-public:PutImage action$/) });
    const trustsB = repositoryPolicy({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: PUT });
    expect(authorize(ciB, onRepo({ resourcePolicy: trustsB }))).toEqual({ allowed: true });
    expect(authorize(role(B, 'Ci'), onRepo({ resourcePolicy: trustsB }))).toMatchObject({ allowed: false, reason: 'no-identity-allow' });
    const namesRole = repositoryPolicy({ Effect: 'Allow', Principal: { AWS: [`arn:aws:iam::${B}:role/Ci`] }, Action: [PUT] });
    expect(authorize(ciB, onRepo({ resourcePolicy: namesRole }))).toEqual({ allowed: true });
    expect(authorize(root(B), onRepo({ resourcePolicy: trustsB }))).toEqual({ allowed: true });
    expect(authorize(root(B), onRepo())).toMatchObject({ allowed: false, reason: 'no-resource-allow' });
  });

  test('the grant to a role of another account\'s stack: its account, for principals carrying the aws-cdk:id tag', () => {
    const policy = repositoryPolicy({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${B}:root` },
      Action: PUT,
      Condition: { StringEquals: { 'aws:PrincipalTag/aws-cdk:id': 'Partner_c8abc' } },
    });
    expect(authorize(role(B, 'Ci', ciB.policies, { 'aws-cdk:id': 'Partner_c8abc' }), onRepo({ resourcePolicy: policy }))).toEqual({ allowed: true });
    expect(authorize(role(B, 'Ci', ciB.policies, { 'aws-cdk:id': 'Other' }), onRepo({ resourcePolicy: policy }))).toMatchObject({ allowed: false });
    expect(authorize(ciB, onRepo({ resourcePolicy: policy }))).toMatchObject({ allowed: false });
  });
});

describe('matching', () => {
  test('actions are case-insensitive with * and ?; resources case-sensitive; NotAction and NotResource invert', () => {
    const caller = role(A, 'R', [identity('R/Default', { Effect: 'Allow', Action: 'ECR-PUBLIC:put?mage', Resource: 'arn:aws:ecr-public::*:repository/acme/*' })]);
    expect(authorize(caller, onRepo())).toEqual({ allowed: true });
    expect(authorize(caller, onRepo({ resource: `arn:aws:ecr-public::${A}:repository/Acme/web` }))).toMatchObject({ allowed: false });
    const inverted = role(A, 'I', [identity('I/Default', { Effect: 'Allow', NotAction: 'ecr-public:Delete*', NotResource: OTHER })]);
    expect(authorize(inverted, onRepo())).toEqual({ allowed: true });
    expect(authorize(inverted, onRepo({ resource: OTHER }))).toMatchObject({ allowed: false });
    expect(authorize(inverted, onRepo({ action: 'ecr-public:DeleteRepository' }))).toMatchObject({ allowed: false });
  });

  test('conditions: StringLike, IfExists, Null, negation and the ForAnyValue/ForAllValues sets', () => {
    const tagged = (condition: object) => role(A, 'T', [identity('T/Default', { ...allowPut, Condition: condition })], { team: 'web' });
    const withTags = onRepo({ context: new Map([['aws:ResourceTag/stage', ['prod']], ['aws:TagKeys', ['a', 'b']]]) });
    expect(authorize(tagged({ StringLike: { 'aws:PrincipalTag/team': 'w*' } }), withTags)).toEqual({ allowed: true });
    expect(authorize(tagged({ StringEquals: { 'aws:ResourceTag/owner': 'me' } }), withTags)).toMatchObject({ allowed: false });
    expect(authorize(tagged({ StringEqualsIfExists: { 'aws:ResourceTag/owner': 'me' } }), withTags)).toEqual({ allowed: true });
    expect(authorize(tagged({ StringNotEquals: { 'aws:ResourceTag/stage': 'prod' } }), withTags)).toMatchObject({ allowed: false });
    expect(authorize(tagged({ Null: { 'aws:ResourceTag/owner': 'true' } }), withTags)).toEqual({ allowed: true });
    expect(authorize(tagged({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['b', 'z'] } }), withTags)).toEqual({ allowed: true });
    expect(authorize(tagged({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['a'] } }), withTags)).toMatchObject({ allowed: false });
    expect(authorize(tagged({ Bool: { 'aws:SecureTransport': 'true' }, StringEquals: { 'aws:PrincipalAccount': A } }), withTags)).toEqual({ allowed: true });
  });

  test('what the emulator cannot evaluate never allows, and is named', () => {
    const unknownKey = role(A, 'U', [identity('U/Default', { ...allowPut, Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } })]);
    expect(authorize(unknownKey, onRepo())).toMatchObject({
      allowed: false, reason: 'unsupported', message: expect.stringContaining('cannot evaluate the condition IpAddress "aws:SourceIp" (a condition key it does not know) in U/Default Statement[0]'),
    });
    // A Deny it cannot evaluate denies even what another statement allows.
    const guarded = role(A, 'G', [identity('G/Default', allowPut, { Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } } })]);
    expect(authorize(guarded, onRepo())).toMatchObject({ allowed: false, reason: 'unsupported' });
    const variable = role(A, 'V', [identity('V/Default', { Effect: 'Allow', Action: PUT, Resource: 'arn:aws:ecr-public::*:repository/${aws:username}/*' })]);
    expect(authorize(variable, onRepo())).toMatchObject({ allowed: false, reason: 'unsupported', message: expect.stringContaining('policy variable') });
  });
});

describe('policies IAM refuses are refused', () => {
  test.each([
    ['an identity policy with a Principal', { Statement: [{ ...allowPut, Principal: '*' }] }, 'identity', /cannot name principals/],
    ['Action and NotAction together', { Statement: [{ ...allowPut, NotAction: 'x' }] }, 'identity', /both Action and NotAction/],
    ['an Effect of neither kind', { Statement: [{ ...allowPut, Effect: 'Maybe' }] }, 'identity', /Effect must be Allow or Deny/],
    ['a resource policy without a Principal', { Statement: [{ Effect: 'Allow', Action: PUT }] }, 'resource', /needs Principal or NotPrincipal/],
    ['no statement', { Statement: [] }, 'resource', /has no Statement/],
    ['not JSON', '{', 'resource', /is not valid JSON/],
  ])('%s', (_what, doc, kind, message) => {
    expect(() => parsePolicy('p', doc, kind as 'identity' | 'resource')).toThrow(PolicyError);
    expect(() => parsePolicy('p', doc, kind as 'identity' | 'resource')).toThrow(message);
  });
});
