/** A stack of many repositories: one resource each, catalog texts as content-addressed assets, limits named at synth. */
import * as fs from 'fs';
import * as path from 'path';
import { App, Lazy, Stack, aws_iam as iam } from 'aws-cdk-lib';
import { FIXTURES, newStack, resourcesOfType } from './support';
import { CatalogText, Logo, PublicRepository, PublicRepositoryCatalogData } from '../../src';

const REPOSITORY = 'Custom::EcrPublicRepository';
/** The API's longest about and usage texts. */
const MAX_TEXT = 25_600;

function maxText(seed: string): CatalogText {
  return CatalogText.fromString(`${seed}\n${'lorem ipsum dolor sit amet '.repeat(1000)}`.slice(0, MAX_TEXT));
}

function synthStack(stack: Stack): { template: any; bytes: number; dir: string } {
  const assembly = App.of(stack)!.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const file = path.join(assembly.directory, artifact.templateFile);
  return { template: artifact.template, bytes: fs.statSync(file).size, dir: assembly.directory };
}

test('480 repositories with maximum-length texts and a logo each fit one stack: <= 500 resources, template < 1 MB', () => {
  const stack = newStack();
  for (let i = 0; i < 480; i++) {
    new PublicRepository(stack, `Repo${i}`, {
      repositoryName: `scale/repository-${i}`,
      description: `Repository ${i}`,
      aboutText: maxText(`about ${i}`),
      usageText: maxText(`usage ${i}`),
      logo: Logo.fromFile(`${FIXTURES}/logo.png`),
    });
  }
  const { template, bytes } = synthStack(stack);
  const types = Object.values<any>(template.Resources).map((r) => r.Type);
  expect(types.filter((t) => t === REPOSITORY)).toHaveLength(480);
  expect(types.length).toBeLessThanOrEqual(500);
  expect(bytes).toBeLessThan(1_000_000);
});

test('the same text is one asset; a changed text is a changed key, so an update', () => {
  const keysOf = (about: string) => {
    const stack = newStack();
    new PublicRepository(stack, 'A', { repositoryName: 'acme/a', aboutText: CatalogText.fromString(about), usageText: CatalogText.fromString('shared') });
    new PublicRepository(stack, 'B', { repositoryName: 'acme/b', aboutText: CatalogText.fromString(about), usageText: CatalogText.fromString('shared') });
    const { template, dir } = synthStack(stack);
    const props = Object.values<any>(template.Resources).filter((r) => r.Type === REPOSITORY).map((r) => r.Properties);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'TestStack.assets.json'), 'utf8'));
    return { props, manifest, dir };
  };
  const v1 = keysOf('# About v1');
  expect(v1.props[0].AboutTextKey).toBe(v1.props[1].AboutTextKey);
  const mdAssets = Object.values<any>(v1.manifest.files).filter((f) => String(f.source.path).endsWith('.md'));
  // Two distinct texts ('# About v1' and 'shared'), whatever the number of repositories using them.
  expect(mdAssets).toHaveLength(2);
  const staged = fs.readFileSync(path.join(v1.dir, mdAssets.find((f) => fs.readFileSync(path.join(v1.dir, f.source.path), 'utf8') === '# About v1').source.path), 'utf8');
  expect(staged).toBe('# About v1');
  const v2 = keysOf('# About v2');
  expect(v2.props[0].AboutTextKey).not.toBe(v1.props[0].AboutTextKey);
  expect(v2.props[0].UsageTextKey).toBe(v1.props[0].UsageTextKey);
});

test('a text with deploy-time values is the one thing sent inline', () => {
  const stack = newStack();
  const lazy = Lazy.string({ produce: () => 'pull it' });
  new PublicRepository(stack, 'Web', { repositoryName: 'acme/web', usageText: CatalogText.fromString(`docker: ${lazy}`) });
  const [repository] = Object.values(resourcesOfType(stack, REPOSITORY));
  expect(repository.Properties.UsageText).toBe('docker: pull it');
  expect(repository.Properties.UsageTextKey).toBeUndefined();
});

test('catalog data of an imported repository travels as assets too', () => {
  const stack = newStack();
  const imported = PublicRepository.fromRepositoryName(stack, 'Api', 'acme/api');
  new PublicRepositoryCatalogData(stack, 'Catalog', { repository: imported, aboutText: CatalogText.fromString('# API'), logo: Logo.fromFile(`${FIXTURES}/logo.png`) });
  const [catalog] = Object.values(resourcesOfType(stack, 'Custom::EcrPublicRepositoryCatalogData'));
  expect(catalog.Properties.AboutText).toBeUndefined();
  expect(catalog.Properties.AboutTextKey).toMatch(/^[0-9a-f]{64}\.md$/);
  expect(catalog.Properties.LogoKey).toMatch(/^[0-9a-f]{64}\.png$/);
});

test('too many resources: the synth error names our resources and suggests splitting the stack', () => {
  const stack = newStack();
  for (let i = 0; i < 501; i++) new PublicRepository(stack, `Repo${i}`, { repositoryName: `scale/repository-${i}` });
  expect(() => synthStack(stack)).toThrow(
    /\[TestStack\] stack 'TestStack' has 505 resources, more than CloudFormation's 500: 501 cdk-ecr-public resources \(501 Custom::EcrPublicRepository\), and 4 other resources\. Split the repositories into several stacks/,
  );
});

test('too large a template: the synth error names our resources and suggests splitting the stack', () => {
  const stack = newStack();
  // Policies travel in the template (they are at most 10,240 characters): 120 large ones pass 1 MB.
  const principals = Array.from({ length: 220 }, (_, i) => new iam.AccountPrincipal(String(100000000000 + i)));
  for (let i = 0; i < 120; i++) {
    const repo = new PublicRepository(stack, `Repo${i}`, { repositoryName: `scale/repository-${i}` });
    repo.addToResourcePolicy(new iam.PolicyStatement({ actions: ['ecr-public:BatchCheckLayerAvailability'], principals }));
  }
  expect(() => synthStack(stack)).toThrow(
    /stack 'TestStack' has a template of \d+ bytes, more than CloudFormation's 1000000: \d+ bytes are 120 cdk-ecr-public resources \(120 Custom::EcrPublicRepository\).*Split the repositories into several stacks/,
  );
});
