import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Lazy, Stack, Tags, aws_iam as iam } from 'aws-cdk-lib';
import { FIXTURES, newStack } from './support';
import { Architecture, CatalogText, Logo, OperatingSystem, PublicRegistry, PublicRepository, PublicRepositoryCatalogData } from '../../src';
import { makeTempDir } from '../support/temp-dirs';

function repo(props: ConstructorParameters<typeof PublicRepository>[2]): () => PublicRepository {
  return () => new PublicRepository(newStack(), 'Repo', props);
}

/** Synthesizes, so that validations registered with addValidation run. */
function synth(stack: Stack): void {
  (stack.node.root as App).synth();
}

function tmpFile(name: string, bytes: Buffer): string {
  const dir = makeTempDir('cdk-ecr-public-test-');
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

const PNG_HEADER = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('synth-time validation names the construct path, the property and the rule', () => {
  test.each([
    ['a', /TestStack\/Repo: repositoryName must be 2 to 205 characters \(got 1 characters: "a"\)/],
    ['x'.repeat(206), /repositoryName must be 2 to 205 characters/],
    ['Acme/Web', /TestStack\/Repo: repositoryName must be lower-case letters.*\(got "Acme\/Web"\)/],
    ['acme//web', /repositoryName must be lower-case/],
    ['-acme', /repositoryName must be lower-case/],
    ['acme_', /repositoryName must be lower-case/],
    ['acme..web', /repositoryName must be lower-case/],
    ['acme web', /repositoryName must be lower-case/],
  ])('repositoryName %j is refused', (name, message) => {
    expect(repo({ repositoryName: name })).toThrow(message);
  });

  test.each(['ab', 'acme/web', 'a.b_c-d/e0/f', 'x'.repeat(205)])('repositoryName %j is accepted', (name) => {
    expect(repo({ repositoryName: name })).not.toThrow();
  });

  test('a token name is left to the service', () => {
    expect(repo({ repositoryName: Lazy.string({ produce: () => 'NOT VALID' }) })).not.toThrow();
  });

  test('description longer than 1,024 characters', () => {
    expect(repo({ repositoryName: 'acme/web', description: 'd'.repeat(1025) }))
      .toThrow(/TestStack\/Repo: description must be at most 1024 characters \(got 1025 characters\)/);
    expect(repo({ repositoryName: 'acme/web', description: 'd'.repeat(1024) })).not.toThrow();
  });

  test('about and usage text longer than 25,600 characters', () => {
    expect(repo({ repositoryName: 'acme/web', aboutText: CatalogText.fromString('a'.repeat(25_601)) }))
      .toThrow(/aboutText must be at most 25600 characters/);
    expect(repo({ repositoryName: 'acme/web', usageText: CatalogText.fromString('u'.repeat(25_601)) }))
      .toThrow(/usageText must be at most 25600 characters/);
    expect(repo({ repositoryName: 'acme/web', usageText: CatalogText.fromString('u'.repeat(25_600)) })).not.toThrow();
  });

  test('a missing catalog text file is refused at synth, naming the construct path and the property', () => {
    expect(repo({ repositoryName: 'acme/web', aboutText: CatalogText.fromFile('/nonexistent/ABOUT.md') }))
      .toThrow(/^TestStack\/Repo: aboutText is CatalogText.fromFile\('\/nonexistent\/ABOUT.md'\), whose file does not exist$/);
    const stack = newStack();
    const imported = PublicRepository.fromRepositoryName(stack, 'Imported', 'acme/api');
    expect(() => new PublicRepositoryCatalogData(stack, 'Catalog', { repository: imported, usageText: CatalogText.fromFile(os.tmpdir()) }))
      .toThrow(/^TestStack\/Catalog: usageText is CatalogText.fromFile\('.*'\), whose file cannot be read \(EISDIR/);
  });

  test('architectures and operating systems: at most 50 items of 1 to 50 characters', () => {
    const many = Array.from({ length: 51 }, (_, i) => Architecture.of(`arch-${i}`));
    expect(repo({ repositoryName: 'acme/web', architectures: many })).toThrow(/architectures must have at most 50 items \(got 51 items\)/);
    expect(repo({ repositoryName: 'acme/web', architectures: [Architecture.of('')] })).toThrow(/architectures\[0\] must be 1 to 50 characters/);
    expect(repo({ repositoryName: 'acme/web', operatingSystems: [OperatingSystem.LINUX, OperatingSystem.of('o'.repeat(51))] }))
      .toThrow(/operatingSystems\[1\] must be 1 to 50 characters/);
  });

  test('a logo must be a PNG or JPEG by signature', () => {
    expect(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(`${FIXTURES}/not-a-logo.gif`) }))
      .toThrow(/TestStack\/Repo: logo must be a PNG or JPEG image/);
    const jpeg = tmpFile('logo.jpg', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100)]));
    expect(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(jpeg) })).not.toThrow();
  });

  test('a logo must be 1 to 512,000 bytes and exist', () => {
    const big = tmpFile('big.png', Buffer.concat([PNG_HEADER, Buffer.alloc(512_001 - PNG_HEADER.length)]));
    expect(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(big) })).toThrow(/logo must be 1 to 512000 bytes \(got 512001 bytes/);
    const max = tmpFile('max.png', Buffer.concat([PNG_HEADER, Buffer.alloc(512_000 - PNG_HEADER.length)]));
    expect(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(max) })).not.toThrow();
    const empty = tmpFile('empty.png', Buffer.alloc(0));
    expect(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(empty) })).toThrow(/logo must be 1 to 512000 bytes \(got 0 bytes/);
    expect(repo({ repositoryName: 'acme/web', logo: Logo.fromFile('/nonexistent.png') })).toThrow(/logo must be an existing file/);
  });

  test('more than 50 tags fail synthesis', () => {
    const stack = newStack();
    const r = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web' });
    for (let i = 0; i < 51; i++) Tags.of(r).add(`k${i}`, 'v');
    expect(() => synth(stack)).toThrow(/TestStack\/Repo.*tags must number at most 50 \(got 51\)/s);
  });

  test('exactly 50 tags synthesize', () => {
    const stack = newStack();
    const r = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web' });
    for (let i = 0; i < 50; i++) Tags.of(r).add(`k${i}`, 'v');
    expect(() => synth(stack)).not.toThrow();
  });

  test('tag keys and values over their lengths fail synthesis', () => {
    const stack = newStack();
    const r = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web' });
    Tags.of(r).add('k'.repeat(129), 'v');
    Tags.of(r).add('long-value', 'v'.repeat(257));
    expect(() => synth(stack)).toThrow(/must be 1 to 128 characters[\s\S]*must be at most 256 characters|must be at most 256 characters[\s\S]*must be 1 to 128 characters/);
  });

  test('a policy statement without a principal fails synthesis', () => {
    const stack = newStack();
    const r = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web' });
    r.addToResourcePolicy(new iam.PolicyStatement({ actions: ['ecr-public:PutImage'] }));
    expect(() => synth(stack)).toThrow(/\[TestStack\/Repo\] policy: statement 0 must name principals/);
  });

  test('a policy over 10,240 characters fails synthesis', () => {
    const stack = newStack();
    const r = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web' });
    for (let i = 0; i < 200; i++) {
      r.addToResourcePolicy(new iam.PolicyStatement({
        sid: `Statement${i}`, actions: ['ecr-public:PutImage'], principals: [new iam.AccountPrincipal(String(100000000000 + i))],
      }));
    }
    expect(() => synth(stack)).toThrow(/\[TestStack\/Repo\] policy: must be at most 10240 characters as JSON/);
  });

  test('display name longer than 100 characters', () => {
    expect(() => new PublicRegistry(newStack(), 'Registry', { displayName: 'n'.repeat(101) }))
      .toThrow(/TestStack\/Registry: displayName must be at most 100 characters/);
  });

  test('catalog data on an imported repository validates the same way', () => {
    const stack = newStack();
    const imported = PublicRepository.fromRepositoryName(stack, 'Imported', 'acme/api');
    expect(() => new PublicRepositoryCatalogData(stack, 'Catalog', { repository: imported, description: 'x'.repeat(2000) }))
      .toThrow(/TestStack\/Catalog: description must be at most 1024 characters/);
    expect(() => PublicRepository.fromRepositoryName(stack, 'Bad', 'Bad Name')).toThrow(/repositoryName must be lower-case/);
  });
});
