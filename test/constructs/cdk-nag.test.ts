import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects, CfnResource, Duration, RemovalPolicy, Stack, aws_iam as iam, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, rules } from 'cdk-nag';
import { addRegistryAndFullRepository } from './support';
import { ImageSource, PublicImage, PublicRepository, PublicRepositoryCatalogData, PublicRepositoryPolicy, TagStatus } from '../../src';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { buildImage } from '../support/umoci-images';

let dir: string;
beforeAll(async () => {
  dir = makeTempDir('nag-');
  await buildImage(path.join(dir, 'layout'), { tag: 'v1', files: { '/hello.txt': 'hello\n' } });
  fs.mkdirSync(path.join(dir, 'app'));
  fs.writeFileSync(path.join(dir, 'app', 'Dockerfile'), 'FROM scratch\n');
});
afterAll(() => removeTempDir(dir));

/** A stack using every construct and source kind. */
function everyConstruct(app: App): Stack {
  const stack = new Stack(app, 'NagStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const repo = addRegistryAndFullRepository(stack);
  const imported = PublicRepository.fromRepositoryName(stack, 'Api', 'acme/api');
  new PublicRepositoryCatalogData(stack, 'ApiCatalog', { repository: imported, description: 'The API' });
  new PublicRepositoryPolicy(stack, 'ApiPolicy', { repository: imported }).addStatements(
    new iam.PolicyStatement({ actions: ['ecr-public:PutImage'], principals: [new iam.AccountPrincipal('111111111111')] }));
  new PublicImage(stack, 'Image', {
    repository: repo, source: ImageSource.fromOciLayout(path.join(dir, 'layout')), tags: ['1.0'], removalPolicy: RemovalPolicy.DESTROY,
  });
  new PublicImage(stack, 'Built', { repository: repo, source: ImageSource.fromDirectory(path.join(dir, 'app')), tags: ['built'] });
  const credentials = secretsmanager.Secret.fromSecretNameV2(stack, 'MirrorCredentials', 'mirror-credentials');
  new PublicImage(stack, 'Mirror', { repository: repo, source: ImageSource.fromRegistry('ghcr.io/acme/tool:2.1', { credentials }), tags: ['2.1'] });
  new PublicImage(stack, 'Private', { repository: repo, source: ImageSource.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/tool:3'), tags: ['3'] });
  repo.addLifecycleRule({ tagStatus: TagStatus.UNTAGGED, maxImageAge: Duration.days(1) });
  return stack;
}

test('AwsSolutions checks report no unsuppressed error or warning on a stack using every construct', () => {
  const app = new App();
  const stack = everyConstruct(app);
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  app.synth();

  const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
  const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
  expect([...errors, ...warnings].map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
});

test('each wildcard is acknowledged on its own policy, finding by finding, with the reason for what it is', () => {
  const app = new App();
  const stack = everyConstruct(app);
  app.synth();
  const reasonFor = (finding: string) => finding === 'Resource::*' ? /ecr:GetAuthorizationToken accepts no resource narrower/
    : finding.endsWith(':repository/*') ? /public repositories its resources name/
      : /:s3:::cdk-[a-z0-9]+-assets-.*\/\*$/.test(finding) ? /stack's file assets from the bootstrap asset bucket/
        : /no reason/;
  let policies = 0;
  for (const resource of stack.node.findAll().filter(CfnResource.isCfnResource)) {
    const findings = (rules.iam.IAMNoWildcardPermissions as unknown as (node: CfnResource) => unknown)(resource);
    const acknowledged: Array<{ id: string; reason: string; applies_to?: string[] }> = resource.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
    if (!Array.isArray(findings)) {
      expect(acknowledged).toEqual([]);
      continue;
    }
    policies++;
    // No blanket suppression: every rule names the findings it covers, and covers no other.
    expect(acknowledged.every((r) => r.id === 'AwsSolutions-IAM5' && Array.isArray(r.applies_to))).toBe(true);
    expect(acknowledged.flatMap((r) => r.applies_to!).sort()).toEqual([...findings].sort());
    for (const r of acknowledged) for (const finding of r.applies_to!) expect(r.reason).toMatch(reasonFor(finding));
  }
  // The repository, catalog-data, policy, image-publisher and sweeper roles, and the own policies of the two images
  // pulled from private ECR (the built one's asset repository and the private source).
  expect(policies).toBe(7);
});
