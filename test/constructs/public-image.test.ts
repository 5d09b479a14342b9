import * as fs from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { App, Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import { ecrPublicStatements, newStack, resourcesOfType, template } from './support';
import { ImageSource, PublicImage, PublicRepository } from '../../src';
import { OciLayoutImage } from '../support/oci-layout';
import { skopeoCopy } from '../support/skopeo';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { buildImage } from '../support/umoci-images';

const IMAGE = 'Custom::EcrPublicImage';

let dir: string;
let layout: string;
let built: OciLayoutImage;
let archive: string;

beforeAll(async () => {
  dir = makeTempDir('public-image-construct-');
  layout = path.join(dir, 'layout');
  built = await buildImage(layout, { tag: 'v1', files: { '/hello.txt': 'hello\n' }, layers: 2 });
  await buildImage(layout, { tag: 'v2', files: { '/other.txt': 'other\n' } });
  archive = path.join(dir, 'image.tar');
  await skopeoCopy(`oci:${layout}:v1`, `oci-archive:${archive}:v1`);
});

afterAll(() => removeTempDir(dir));

function imageStack(props: Partial<ConstructorParameters<typeof PublicImage>[2]> = {}): { stack: Stack; image: PublicImage } {
  const stack = newStack();
  const repository = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web' });
  const image = new PublicImage(stack, 'Image', {
    repository, source: ImageSource.fromTarball(archive), tags: ['1.4.2', 'latest'], ...props,
  });
  return { stack, image };
}

describe('PublicImage', () => {
  test('passes the plan, the source digest and the options to one image resource', () => {
    const { stack, image } = imageStack();
    const [resource] = Object.values(resourcesOfType(stack, IMAGE));
    const p = resource.Properties;
    expect(p.SourceDigest).toBe(built.root.digest);
    expect(image.sourceDigest).toBe(built.root.digest);
    expect(p.Tags).toEqual(['1.4.2', 'latest']);
    expect(p).toMatchObject({ CompressLayers: 'true', Concurrency: '4', DeleteOnRemove: 'false' });
    expect(p.RepositoryName).toEqual({ Ref: expect.stringMatching(/^Repo/) });
    expect(p.ArchiveKey).toMatch(/^[0-9a-f]{64}\.tar$/);
    const plan = JSON.parse(p.Plan);
    expect(plan.rootDigest).toBe(built.root.digest);
    expect(plan.blobs.map((b: any) => b.digest).sort()).toEqual(built.blobs.map((b) => b.digest).sort());
  });

  test('attributes come from the image resource', () => {
    const { stack, image } = imageStack();
    const id = Object.keys(resourcesOfType(stack, IMAGE))[0];
    expect(stack.resolve(image.imageDigest)).toEqual({ 'Fn::GetAtt': [id, 'ImageDigest'] });
    expect(stack.resolve(image.imageUri)).toEqual({ 'Fn::GetAtt': [id, 'ImageUri'] });
  });

  test('the publisher runs on a 15-minute, 1 GiB function by default, and options reach it', () => {
    const { stack } = imageStack();
    template(stack).hasResourceProperties('AWS::Lambda::Function', { Timeout: 900, MemorySize: 1024, Runtime: 'nodejs22.x' });
    const custom = imageStack({ memorySize: 2048, removalPolicy: RemovalPolicy.DESTROY, compressLayers: false, concurrency: 8 });
    template(custom.stack).hasResourceProperties('AWS::Lambda::Function', { MemorySize: 2048 });
    const [resource] = Object.values(resourcesOfType(custom.stack, IMAGE));
    expect(resource.Properties).toMatchObject({ CompressLayers: 'false', Concurrency: '8', DeleteOnRemove: 'true' });
  });

  test('IAM: push actions on the account\'s public repositories, s3:GetObject on the stack\'s assets, on the role once', () => {
    const { stack } = imageStack();
    const [resource] = Object.values(resourcesOfType(stack, IMAGE));
    const statements = Object.values(resourcesOfType(stack, 'AWS::IAM::Policy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const push = statements.filter((s: any) => JSON.stringify(s.Action).includes('ecr-public:PutImage'));
    expect(push).toHaveLength(1);
    expect(JSON.stringify(push[0].Resource)).toMatch(/:ecr-public::",\{"Ref":"AWS::AccountId"\},":repository\/\*"/);
    const s3 = statements.filter((s: any) => s.Action === 's3:GetObject');
    expect(s3).toHaveLength(1);
    expect(JSON.stringify(s3[0].Resource)).toMatch(/cdk-hnb659fds-assets-.*\/\*"/);
    // An archive image needs nothing of its own: no per-resource policy, only the publisher's right to invoke itself.
    expect(resource.DependsOn).toEqual([expect.stringMatching(/SelfInvoke/)]);
    expect(ecrPublicStatements(stack).every((s) => s.Resource !== '*')).toBe(true);
  });

  test('publishTimeout sets the service timeout and reaches the handler; without it the template is as before', () => {
    const plain = Object.values(resourcesOfType(imageStack().stack, IMAGE))[0].Properties;
    expect(plain.ServiceTimeout).toBeUndefined();
    expect(plain.PublishTimeout).toBeUndefined();
    const { stack } = imageStack({ publishTimeout: Duration.minutes(40) });
    const [resource] = Object.values(resourcesOfType(stack, IMAGE));
    expect(resource.Properties).toMatchObject({ ServiceTimeout: '2400', PublishTimeout: '2400' });
  });

  test('the publisher may invoke itself, by its exact ARN, in a policy of its own: no dependency cycle', () => {
    const stack = newStack();
    const repository = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web' });
    new PublicImage(stack, 'A', { repository, source: ImageSource.fromTarball(archive), tags: ['a'] });
    new PublicImage(stack, 'B', { repository, source: ImageSource.fromTarball(archive), tags: ['b'] });
    const policies = Object.entries(resourcesOfType(stack, 'AWS::IAM::Policy'))
      .filter(([, p]: [string, any]) => JSON.stringify(p.Properties.PolicyDocument).includes('lambda:InvokeFunction'));
    expect(policies).toHaveLength(1);
    const [policyId, policy] = policies[0] as [string, any];
    const fnId = Object.entries(resourcesOfType(stack, 'AWS::Lambda::Function')).find(([, f]) => f.Properties.Timeout === 900)![0];
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [fnId, 'Arn'] } },
    ]);
    for (const image of Object.values(resourcesOfType(stack, IMAGE))) expect(image.DependsOn).toContain(policyId);
    // The function does not wait for this policy (it would wait for itself).
    expect(resourcesOfType(stack, 'AWS::Lambda::Function')[fnId].DependsOn ?? []).not.toContain(policyId);
    expect(() => template(stack)).not.toThrow();
  });

  test('images of the stack share one publisher function; other settings get their own', () => {
    const stack = newStack();
    const repository = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web' });
    new PublicImage(stack, 'A', { repository, source: ImageSource.fromTarball(archive), tags: ['a'] });
    new PublicImage(stack, 'B', { repository, source: ImageSource.fromOciLayout(layout, { ref: 'v2' }), tags: ['b'] });
    const publishers = (s: Stack) => Object.values(resourcesOfType(s, 'AWS::Lambda::Function')).filter((f) => f.Properties.Timeout === 900);
    expect(publishers(stack)).toHaveLength(1);
    const other = newStack();
    const repo = new PublicRepository(other, 'Repo', { repositoryName: 'acme/web' });
    new PublicImage(other, 'A', { repository: repo, source: ImageSource.fromTarball(archive) });
    new PublicImage(other, 'C', { repository: repo, source: ImageSource.fromTarball(archive), memorySize: 3008 });
    expect(publishers(other)).toHaveLength(2);
  });

  test('an unchanged image synthesizes the same properties (no update at deploy)', () => {
    const first = Object.values(resourcesOfType(imageStack().stack, IMAGE))[0].Properties;
    const second = Object.values(resourcesOfType(imageStack().stack, IMAGE))[0].Properties;
    expect(second).toEqual(first);
  });

  test.each([
    [{ tags: ['has space'] }, /TestStack\/Image: tags\[0\] must match/],
    [{ tags: ['.dot'] }, /tags\[0\] must match/],
    [{ tags: ['x'.repeat(129)] }, /tags\[0\] must match/],
    [{ tags: ['a', 'a'] }, /TestStack\/Image: tags must not repeat a tag/],
    [{ concurrency: 0 }, /TestStack\/Image: concurrency must be an integer from 1 to 32/],
    [{ concurrency: 32, memorySize: 300 }, /TestStack\/Image: memorySize must be at least 384 MiB for concurrency 32 .*\(got 300\)/],
    [{ memorySize: 200 }, /TestStack\/Image: memorySize must be at least 272 MiB for concurrency 4/],
    [{ publishTimeout: Duration.hours(2) }, /TestStack\/Image: publishTimeout must be whole seconds from 1 second to 1 hour .*\(got 2 hours\)/],
    [{ publishTimeout: Duration.millis(1500) }, /TestStack\/Image: publishTimeout must be whole seconds/],
  ])('bad props are refused: %j', (props, message) => {
    expect(() => imageStack(props)).toThrow(message);
  });

  test('a source that is not an image fails synth naming the construct and the cause', () => {
    const bogus = path.join(dir, 'bogus.tar');
    fs.writeFileSync(bogus, Buffer.alloc(4096, 7));
    const stack = new Stack(new App(), 'TestStack');
    const repository = PublicRepository.fromRepositoryName(stack, 'Repo', 'acme/web');
    expect(() => new PublicImage(stack, 'Image', { repository, source: ImageSource.fromTarball(bogus) }))
      .toThrow(/TestStack\/Image: source must be a valid image archive or layout: [^(].*bogus\.tar/);
    expect(() => new PublicImage(stack, 'Missing', { repository, source: ImageSource.fromTarball(path.join(dir, 'nope.tar')) }))
      .toThrow(/TestStack\/Missing: source .*no such file or directory/);
  });

  test('a .tar.gz that inflates past maxDecompressedSize fails synth naming the construct, the property and the archive', () => {
    const gz = path.join(dir, 'small-bound.tar.gz');
    fs.writeFileSync(gz, gzipSync(fs.readFileSync(archive)));
    const stack = new Stack(new App(), 'TestStack');
    const repository = PublicRepository.fromRepositoryName(stack, 'Repo', 'acme/web');
    const source = ImageSource.fromTarball(gz, { maxDecompressedSize: Size.kibibytes(1) });
    expect(() => new PublicImage(stack, 'Image', { repository, source }))
      .toThrow(/TestStack\/Image: source must be a valid image archive or layout: .*small-bound\.tar\.gz: decompresses to more than 1024 bytes.*raise maxDecompressedSize/);
  });

  test('a layout with several images needs a ref, and the error lists them', () => {
    const stack = newStack();
    const repository = PublicRepository.fromRepositoryName(stack, 'Repo', 'acme/web');
    expect(() => new PublicImage(stack, 'Image', { repository, source: ImageSource.fromOciLayout(layout) }))
      .toThrow(/v1[\s\S]*v2|v2[\s\S]*v1/);
  });
});
