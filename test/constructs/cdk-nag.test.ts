import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects, RemovalPolicy, Stack, aws_iam as iam, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addRegistryAndFullRepository } from './support';
import { ImageSource, PublicImage, PublicRepository, PublicRepositoryCatalogData, PublicRepositoryPolicy } from '../../src';
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

test('AwsSolutions checks report no unsuppressed error or warning on a stack using every construct', () => {
  const app = new App();
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
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  app.synth();

  const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
  const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
  expect([...errors, ...warnings].map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
});
