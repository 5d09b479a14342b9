/**
 * End to end: what the deployer resolves before a handler runs (intrinsic functions, conditions, pseudo parameters, the
 * stack's region, cross-stack imports), the order it derives (through resources it does not deploy), what it refuses
 * (unresolvable expressions, files outside the cloud assembly).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  GetRepositoryCatalogDataCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr-public';
import { App, Aws, CfnCondition, CfnMapping, CfnResource, Fn, RemovalPolicy, Stack, aws_iam as iam } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { deployApp, destroyApp, LocalDeployError, RunningEmulator } from '../../../local';
import { Logo, PublicRepository, PublicRepositoryPolicy } from '../../../src';
import { startInProcess } from '../../support/emulator-harness';
import { errorName, expectRejection } from '../../support/rejections';
import { makeTempDir } from '../../support/temp-dirs';

const LOGO = path.resolve(__dirname, '..', '..', 'fixtures', 'logo.png');

let tmp: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;
let outdirs = 0;
let lines: string[] = [];

function newOutdir(): string {
  return path.join(tmp, `cdk.out.${++outdirs}`);
}

/** The custom resource of a PublicRepository, for escape-hatch overrides. */
function cfnOf(repo: Construct): CfnResource {
  return repo.node.findChild('Resource').node.defaultChild as CfnResource;
}

function options(assemblyDir: string, dataDir: string, extra: object = {}) {
  lines = [];
  return { assemblyDir, dataDir, endpoint: emu.endpoint, log: (l: string) => lines.push(l), ...extra };
}

async function tagsOf(name: string): Promise<Record<string, string>> {
  const out = await client.send(new ListTagsForResourceCommand({ resourceArn: `arn:aws:ecr-public::${emu.accountId}:repository/${name}` }));
  return Object.fromEntries((out.tags ?? []).map((t) => [t.Key!, t.Value!]));
}

beforeAll(async () => {
  tmp = makeTempDir('local-deploy-resolution-');
  ({ emu, client } = await startInProcess({ accountId: '210987654321', iam: {} }, { maxAttempts: 1 }));
});

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('resolution', () => {
  test('intrinsic functions, conditions and pseudo parameters resolve as CloudFormation would, in the stack\'s region', async () => {
    const outdir = newOutdir();
    const app = new App({ outdir });
    const stack = new Stack(app, 'Resolution', { env: { region: 'eu-west-1' } });
    new CfnCondition(stack, 'InEuWest1', { expression: Fn.conditionEquals(Aws.REGION, 'eu-west-1') });
    const never = new CfnCondition(stack, 'Never', { expression: Fn.conditionEquals(Aws.REGION, 'mars-north-1') });
    new CfnMapping(stack, 'Names', { mapping: { Suffix: { Value: 'mapped' } } });

    const repo = new PublicRepository(stack, 'Repo', { repositoryName: 'placeholder/name', removalPolicy: RemovalPolicy.DESTROY });
    cfnOf(repo).addPropertyOverride('RepositoryName', {
      'Fn::Join': ['/', [
        { 'Fn::Select': [0, { 'Fn::Split': ['-', { 'Fn::Sub': ['${Prefix}-dropped', { Prefix: 'resolved' }] }] }] },
        { 'Fn::If': ['InEuWest1', { 'Fn::Sub': '${AWS::Region}' }, 'elsewhere'] },
        { 'Fn::FindInMap': ['Names', 'Suffix', 'Value'] },
      ]],
    });
    cfnOf(repo).addPropertyOverride('Tags', [
      { Key: 'account', Value: { Ref: 'AWS::AccountId' } },
      { Key: 'stack', Value: { Ref: 'AWS::StackName' } },
      { Key: 'partition', Value: { 'Fn::Sub': '${AWS::Partition}.${AWS::URLSuffix}' } },
      { Key: 'count', Value: 3 },
      { 'Fn::If': ['Never', { Key: 'never', Value: 'x' }, { Ref: 'AWS::NoValue' }] },
    ]);
    const skipped = new PublicRepository(stack, 'Conditional', { repositoryName: 'resolution/conditional', removalPolicy: RemovalPolicy.DESTROY });
    // The repository, which carries its catalog data and policy.
    const conditional = skipped.node.findAll().filter((c): c is CfnResource => c instanceof CfnResource);
    expect(conditional.map((c) => c.cfnResourceType).sort()).toEqual(['Custom::EcrPublicRepository']);
    for (const c of conditional) c.cfnOptions.condition = never;
    app.synth();

    const dataDir = path.join(tmp, 'data-resolution');
    const result = await deployApp(options(outdir, dataDir, { verbose: true }));
    expect(result.resources.map((r) => [r.physicalResourceId, r.action])).toEqual([
      ['resolved/eu-west-1/mapped', 'created'],
    ]);
    expect(await tagsOf('resolved/eu-west-1/mapped')).toEqual({
      account: '210987654321', stack: 'Resolution', partition: 'aws.amazonaws.com', count: '3',
    });
    // The resource whose condition is false is not deployed, and said so (it is not a skipped resource of another kind).
    expect(await errorName(client.send(new DescribeRepositoriesCommand({ repositoryNames: ['resolution/conditional'] }))))
      .toBe('RepositoryNotFoundException');
    expect(result.skipped.some((s) => s.logicalId.startsWith('Conditional'))).toBe(false);
    expect(lines.some((l) => /condition +Conditional[0-9A-F]{8} +Custom::EcrPublicRepository: not deployed, its condition 'Never' is false/.test(l))).toBe(true);
    // The stack id carries the stack's region and the emulator's account; the handler saw it in its event.
    const state = JSON.parse(fs.readFileSync(path.join(dataDir, 'deployments', 'Resolution.json'), 'utf8'));
    expect(state.stackId).toMatch(/^arn:aws:cloudformation:eu-west-1:210987654321:stack\/Resolution\//);
    expect(lines.some((l) => l.startsWith('    | ') && l.includes(state.stackId))).toBe(true);
    // ServiceToken is in the properties, resolved to a stand-in ARN of the function in the stack's region.
    const props = (Object.values(state.resources)[0] as any).properties;
    expect(props.ServiceToken).toMatch(/^arn:aws:lambda:eu-west-1:210987654321:function:Resolution-EcrPublicrepository/);
    expect(props.Tags).toHaveLength(4);
  });

  test('our resources are ordered through resources that are not ours (DependsOn a resource that refers to another)', async () => {
    const outdir = newOutdir();
    const app = new App({ outdir });
    const stack = new Stack(app, 'Ordering');
    // Defined first, so first in the template: only the edge through Middle puts it after First.
    const second = new PublicRepository(stack, 'Second', { repositoryName: 'ordering/second', removalPolicy: RemovalPolicy.DESTROY });
    const first = new PublicRepository(stack, 'First', { repositoryName: 'ordering/first', removalPolicy: RemovalPolicy.DESTROY });
    const middle = new CfnResource(stack, 'Middle', { type: 'AWS::SNS::Topic', properties: { DisplayName: first.repositoryArn } });
    second.node.addDependency(middle);
    app.synth();
    const template = JSON.parse(fs.readFileSync(path.join(outdir, 'Ordering.template.json'), 'utf8'));
    const ids = Object.keys(template.Resources);
    expect(ids.findIndex((id) => /^Second[0-9A-F]{8}$/.test(id))).toBeLessThan(ids.findIndex((id) => /^First[0-9A-F]{8}$/.test(id)));

    const result = await deployApp(options(outdir, path.join(tmp, 'data-ordering')));
    expect(result.resources.map((r) => r.physicalResourceId)).toEqual(['ordering/first', 'ordering/second']);
    const destroyed = await destroyApp(options(outdir, path.join(tmp, 'data-ordering')));
    expect(destroyed.resources.map((r) => r.physicalResourceId)).toEqual(['ordering/second', 'ordering/first']);
  });

  test('cross-stack references: exports are recorded and imported; stacks deploy in order and destroy in reverse', async () => {
    const outdir = newOutdir();
    const app = new App({ outdir });
    const producer = new Stack(app, 'Producer');
    const shared = new PublicRepository(producer, 'Shared', { repositoryName: 'cross/shared', removalPolicy: RemovalPolicy.DESTROY });
    const consumer = new Stack(app, 'Consumer');
    // The consumer manages the policy of the producer's repository, imported by its (exported) name.
    const imported = PublicRepository.fromRepositoryName(consumer, 'Shared', shared.repositoryName);
    const policy = new PublicRepositoryPolicy(consumer, 'Policy', { repository: imported });
    policy.addStatements(new iam.PolicyStatement({ sid: 'Everyone', principals: [new iam.AnyPrincipal()], actions: ['ecr-public:DescribeImages'] }));
    app.synth();
    const dataDir = path.join(tmp, 'data-cross');

    // Alone, the consumer cannot resolve its import: the error names the resource and the expression.
    const err = await expectRejection(deployApp(options(outdir, dataDir, { stackName: 'Consumer' })), LocalDeployError);
    expect(err.message).toMatch(/resource 'Policy[0-9A-F]{8}' \(Custom::EcrPublicRepositoryPolicy\): cannot resolve \{"Fn::ImportValue":"Producer:/);
    expect(err.message).toContain('deploy the exporting stack first');

    const result = await deployApp(options(outdir, dataDir));
    expect(result.stacks.map((s) => s.stackName)).toEqual(['Producer', 'Consumer']);
    const policyText = (await client.send(new GetRepositoryPolicyCommand({ repositoryName: 'cross/shared' }))).policyText!;
    expect(JSON.parse(policyText).Statement[0].Sid).toBe('Everyone');

    const destroyed = await destroyApp(options(outdir, dataDir));
    expect(destroyed.stacks.map((s) => s.stackName)).toEqual(['Consumer', 'Producer']);
    // The consumer's policy, then the repository.
    expect(destroyed.resources.map((r) => [r.stackName, r.logicalId.replace(/[0-9A-F]{8}$/, ''), r.physicalResourceId, r.action])).toEqual([
      ['Consumer', 'Policy', 'cross/shared/policy', 'deleted'],
      ['Producer', 'Shared', 'cross/shared', 'deleted'],
    ]);
  });

  test('an expression that cannot be resolved is an error naming the resource and the expression', async () => {
    const outdir = newOutdir();
    const app = new App({ outdir });
    const stack = new Stack(app, 'Unresolvable');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.AccountRootPrincipal() });
    const repo = new PublicRepository(stack, 'Repo', { repositoryName: 'unresolvable/repo', removalPolicy: RemovalPolicy.DESTROY });
    cfnOf(repo).addPropertyOverride('Tags', [{ Key: 'role', Value: (role.node.defaultChild as CfnResource).getAtt('Weird') }]);
    app.synth();
    const roleId = stack.getLogicalId(role.node.defaultChild as CfnResource);

    const err = await expectRejection(deployApp(options(outdir, path.join(tmp, 'data-unresolvable'))), LocalDeployError);
    expect(err.message).toContain(`resource '${stack.getLogicalId(cfnOf(repo))}' (Custom::EcrPublicRepository)`);
    expect(err.message).toContain(`{"Fn::GetAtt":["${roleId}","Weird"]}`);
    expect(err.reason).toBeUndefined();
    expect(await errorName(client.send(new DescribeRepositoriesCommand({ repositoryNames: ['unresolvable/repo'] })))).toBe('RepositoryNotFoundException');
  });

  test('an account id the emulator does not serve is refused before anything runs', async () => {
    const outdir = newOutdir();
    const app = new App({ outdir });
    new PublicRepository(new Stack(app, 'Account'), 'Repo', { repositoryName: 'account/repo' });
    app.synth();
    const dataDir = path.join(tmp, 'data-account');
    await expect(deployApp(options(outdir, dataDir, { accountId: '111111111111' })))
      .rejects.toThrow(`The emulator at ${emu.endpoint} serves account 210987654321, not 111111111111 (--account-id)`);
    expect(fs.existsSync(path.join(dataDir, 'deployments', 'Account.json'))).toBe(false);
    expect(await errorName(client.send(new DescribeRepositoriesCommand({ repositoryNames: ['account/repo'] })))).toBe('RepositoryNotFoundException');
  });

  test('asset files outside the cloud assembly are never served, through a relative path or a symbolic link', async () => {
    const secret = path.join(tmp, 'secret.png');
    fs.copyFileSync(LOGO, secret);
    for (const trick of ['relative path', 'symbolic link'] as const) {
      const outdir = newOutdir();
      const app = new App({ outdir });
      const stack = new Stack(app, 'Assets');
      new PublicRepository(stack, 'Repo', { repositoryName: 'assets/repo', removalPolicy: RemovalPolicy.DESTROY, logo: Logo.fromFile(LOGO) });
      app.synth();
      const manifestFile = path.join(outdir, 'Assets.assets.json');
      const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
      const [id, logoAsset] = Object.entries<any>(manifest.files).find(([, f]) => f.source.path.endsWith('.png'))!;
      if (trick === 'relative path') {
        logoAsset.source.path = path.relative(outdir, secret);
        fs.writeFileSync(manifestFile, JSON.stringify(manifest));
      } else {
        const staged = path.join(outdir, logoAsset.source.path);
        fs.rmSync(staged);
        fs.symlinkSync(secret, staged);
      }
      const dataDir = path.join(tmp, `data-assets-${trick.replace(' ', '-')}`);
      const err = await expectRejection(deployApp(options(outdir, dataDir)), LocalDeployError);
      expect(lines.some((l) => l.includes(`warning: asset ${id} is not served`) && l.includes('lies outside the cloud assembly'))).toBe(true);
      // The repository handler asked the deployer's S3 endpoint for the logo and was refused.
      expect(err.reason).toMatch(/^NoSuchKey: /);
      expect(err.logicalId).toMatch(/^Repo[0-9A-F]{8}$/);
      await destroyApp(options(outdir, dataDir));
    }
    // And served, the same file inside the assembly works.
    const outdir = newOutdir();
    const app = new App({ outdir });
    const stack = new Stack(app, 'Assets');
    new PublicRepository(stack, 'Repo', { repositoryName: 'assets/repo', removalPolicy: RemovalPolicy.DESTROY, logo: Logo.fromFile(LOGO) });
    app.synth();
    await deployApp(options(outdir, path.join(tmp, 'data-assets-ok')));
    const catalog = (await client.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'assets/repo' }))).catalogData!;
    expect(Buffer.from(await (await fetch(catalog.logoUrl!)).arrayBuffer()).equals(fs.readFileSync(LOGO))).toBe(true);
  });
});
