/**
 * PublicImage with the sources copied through the registry pull API: a directory with a Dockerfile, a Docker image
 * asset, and another registry. Template assertions only: `cdk synth` builds nothing (the toolkit builds at deploy).
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, aws_ecr_assets as ecr_assets, aws_kms as kms, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { AssetManifestArtifact } from 'aws-cdk-lib/cx-api';
import { newStack, resourcesOfType } from './support';
import { ImageSource, PublicImage, PublicImageProps, PublicRepository } from '../../src';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

const IMAGE = 'Custom::EcrPublicImage';
const ENV = { account: '123456789012', region: 'eu-west-1' };

let dir: string;
beforeAll(() => {
  dir = makeTempDir('registry-sources-');
  fs.mkdirSync(path.join(dir, 'app'));
  fs.writeFileSync(path.join(dir, 'app', 'Dockerfile'), 'FROM scratch\nARG VERSION\nCOPY hello.txt /\n');
  fs.writeFileSync(path.join(dir, 'app', 'Other.Dockerfile'), 'FROM scratch\nCOPY hello.txt /other\n');
  fs.writeFileSync(path.join(dir, 'app', 'hello.txt'), 'hello\n');
  fs.mkdirSync(path.join(dir, 'empty'));
});
afterAll(() => removeTempDir(dir));

function imageIn(stack: Stack, source: ImageSource, props: Partial<PublicImageProps> = {}): PublicImage {
  const repository = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web' });
  return new PublicImage(stack, 'Image', { repository, source, tags: ['1.4.2'], ...props });
}

/** The image resource's properties and the statements of its own policy. */
function imageResource(stack: Stack): { id: string; properties: any; statements: any[] } {
  const [[id, resource]] = Object.entries(resourcesOfType(stack, IMAGE));
  const policies = resourcesOfType(stack, 'AWS::IAM::Policy');
  // The resource's own policy holds what only it needs (a secret, another registry); the push is on the handler's role,
  // and the publisher's invoking of itself (for publishes longer than one run) in the function's policy of its own.
  const own = ((resource.DependsOn ?? []) as string[]).find((d) => d in policies && !d.includes('SelfInvoke'));
  return { id, properties: resource.Properties, statements: own ? policies[own].Properties.PolicyDocument.Statement : [] };
}

const actionsOf = (s: any): string[] => [s.Action].flat();
const resolved = (stack: Stack, value: unknown): string => JSON.stringify(stack.resolve(value));

/** Every statement of every policy of the stack. */
function allStatements(stack: Stack): any[] {
  return Object.values(resourcesOfType(stack, 'AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

/** The statements that pull from the asset repository, and the rest of the non-ECR-Public ones. */
function expectEcrPullGrants(stack: Stack, statements: any[], repositoryArn: unknown): void {
  const token = statements.filter((s) => actionsOf(s).includes('ecr:GetAuthorizationToken'));
  expect(token).toEqual([{ Action: 'ecr:GetAuthorizationToken', Effect: 'Allow', Resource: '*' }]);
  const pull = statements.filter((s) => actionsOf(s).includes('ecr:BatchGetImage'));
  expect(pull).toHaveLength(1);
  expect(actionsOf(pull[0]).sort()).toEqual(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']);
  expect(pull[0].Resource).toEqual(stack.resolve(repositoryArn));
  // Nothing else of ECR, S3 or Secrets Manager; the ECR Public statement is on the target repository only.
  const others = statements.filter((s) => !actionsOf(s).some((a) => a.startsWith('ecr:')));
  expect(others.flatMap(actionsOf).every((a) => a.startsWith('ecr-public:'))).toBe(true);
  expect(others.every((s) => JSON.stringify(s.Resource).includes(':repository/'))).toBe(true);
  // No other policy of the stack got an ECR grant (such as the shared role's default policy).
  expect(allStatements(stack).filter((s) => actionsOf(s).some((a) => a.startsWith('ecr:')))).toHaveLength(2);
}

describe('ImageSource.fromDirectory', () => {
  test('a DockerImageAsset with the options is in the asset manifest; the handler copies it with ecr auth; no Docker at synth', () => {
    const saved = process.env.CDK_DOCKER;
    // Any use of Docker at synth would fail on this.
    process.env.CDK_DOCKER = path.join(dir, 'no-such-docker');
    try {
      const app = new App();
      const stack = new Stack(app, 'TestStack', { env: ENV });
      const image = imageIn(stack, ImageSource.fromDirectory(path.join(dir, 'app'), {
        buildArgs: { VERSION: '1.4.2' }, platform: Platform.LINUX_ARM64, target: 'runtime', file: 'Other.Dockerfile',
      }));
      const asset = image.node.findChild('DockerImage') as ecr_assets.DockerImageAsset;
      expect(asset).toBeInstanceOf(ecr_assets.DockerImageAsset);

      const assembly = app.synth();
      const manifestArtifact = assembly.artifacts.find((a) => a instanceof AssetManifestArtifact) as AssetManifestArtifact;
      const manifest = JSON.parse(fs.readFileSync(manifestArtifact.file, 'utf8'));
      const docker = Object.values(manifest.dockerImages ?? {}) as any[];
      expect(docker).toHaveLength(1);
      expect(docker[0].source).toMatchObject({
        dockerBuildArgs: { VERSION: '1.4.2' }, platform: 'linux/arm64', dockerBuildTarget: 'runtime', dockerFile: 'Other.Dockerfile',
      });
      const destination = Object.values(docker[0].destinations)[0] as any;
      expect(destination.imageTag).toBe(asset.imageTag);

      const { id, properties, statements } = imageResource(stack);
      expect(properties).toMatchObject({ SourceAuth: 'ecr', SourceEcrRegion: 'eu-west-1', CompressLayers: 'false', Tags: ['1.4.2'] });
      expect(properties.SourceImage).toEqual(stack.resolve(asset.imageUri));
      expect(JSON.stringify(properties.SourceImage)).toContain(`:${asset.imageTag}`);
      for (const archiveOnly of ['ArchiveBucket', 'ArchiveKey', 'Plan', 'SourceDigest', 'SourceSecretArn', 'SourcePlatform']) {
        expect(properties).not.toHaveProperty(archiveOnly);
      }
      expectEcrPullGrants(stack, statements, asset.repository.repositoryArn);
      expect(resolved(stack, asset.repository.repositoryArn)).toContain('container-assets');
      // The source digest is known at deploy only.
      expect(stack.resolve(image.sourceDigest)).toEqual({ 'Fn::GetAtt': [id, 'SourceDigest'] });
      expect(stack.resolve(image.imageDigest)).toEqual({ 'Fn::GetAtt': [id, 'ImageDigest'] });
    } finally {
      if (saved === undefined) delete process.env.CDK_DOCKER;
      else process.env.CDK_DOCKER = saved;
    }
  });

  test('an environment-agnostic stack takes the Region of the deployment', () => {
    const stack = newStack();
    imageIn(stack, ImageSource.fromDirectory(path.join(dir, 'app')));
    expect(imageResource(stack).properties.SourceEcrRegion).toEqual({ Ref: 'AWS::Region' });
  });

  test('a directory without a Dockerfile fails synth naming the construct', () => {
    expect(() => imageIn(newStack(), ImageSource.fromDirectory(path.join(dir, 'empty'))))
      .toThrow(/TestStack\/Image: source must be a directory with a Dockerfile: [^(].*Dockerfile/);
  });

  test('compressLayers: true is refused: built images are copied byte for byte', () => {
    expect(() => imageIn(newStack(), ImageSource.fromDirectory(path.join(dir, 'app')), { compressLayers: true }))
      .toThrow(/TestStack\/Image: compressLayers applies to archive sources only/);
  });
});

describe('ImageSource.fromDockerImageAsset', () => {
  test('copies the asset from its repository with the same grants', () => {
    const stack = new Stack(new App(), 'TestStack', { env: ENV });
    const asset = new ecr_assets.DockerImageAsset(stack, 'Built', { directory: path.join(dir, 'app') });
    const image = imageIn(stack, ImageSource.fromDockerImageAsset(asset));
    const { properties, statements } = imageResource(stack);
    expect(properties.SourceImage).toEqual(stack.resolve(asset.imageUri));
    expect(properties).toMatchObject({ SourceAuth: 'ecr', SourceEcrRegion: 'eu-west-1' });
    expectEcrPullGrants(stack, statements, asset.repository.repositoryArn);
    expect(image.node.tryFindChild('DockerImage')).toBeUndefined();
  });
});

describe('ImageSource.fromRegistry', () => {
  const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mirror-creds-AbCdEf';

  test('with a secret: GetSecretValue on that secret only, its ARN in the properties, no credential in the template', () => {
    const stack = new Stack(new App(), 'TestStack', { env: ENV });
    const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Creds', SECRET);
    imageIn(stack, ImageSource.fromRegistry('ghcr.io/acme/tool:2.1', { credentials: secret, platform: 'linux/arm64' }));
    const { properties, statements } = imageResource(stack);
    expect(properties).toMatchObject({
      SourceImage: 'ghcr.io/acme/tool:2.1', SourceAuth: 'secret', SourceSecretArn: SECRET, SourcePlatform: 'linux/arm64', CompressLayers: 'false',
    });
    expect(properties).not.toHaveProperty('SourceEcrRegion');
    const secretStatements = allStatements(stack).filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secretStatements).toEqual([{ Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: SECRET }]);
    expect(statements).toContainEqual(secretStatements[0]);
    expect(statements.flatMap(actionsOf).filter((a) => !a.startsWith('ecr-public:'))).toEqual(['secretsmanager:GetSecretValue']);
  });

  test('a secret known by name is granted with the six-character suffix; its own key may decrypt through Secrets Manager', () => {
    const stack = new Stack(new App(), 'TestStack', { env: ENV });
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555');
    const secret = secretsmanager.Secret.fromSecretAttributes(stack, 'Creds', {
      secretPartialArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mirror-creds', encryptionKey: key,
    });
    imageIn(stack, ImageSource.fromRegistry('ghcr.io/acme/tool:2.1', { credentials: secret }));
    const { statements } = imageResource(stack);
    expect(statements).toContainEqual({
      Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mirror-creds-??????',
    });
    expect(statements).toContainEqual({
      Action: 'kms:Decrypt',
      Effect: 'Allow',
      Resource: key.keyArn,
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] } } },
    });
  });

  test('anonymous: no grant but the push; a private ECR reference pulls with ecr auth from its repository', () => {
    const anonymous = new Stack(new App(), 'TestStack', { env: ENV });
    imageIn(anonymous, ImageSource.fromRegistry('public.ecr.aws/docker/library/alpine:3.20'));
    const { properties, statements } = imageResource(anonymous);
    expect(properties).toMatchObject({ SourceImage: 'public.ecr.aws/docker/library/alpine:3.20', SourceAuth: 'anonymous' });
    expect(statements).toEqual([]);

    const privateEcr = new Stack(new App(), 'TestStack', { env: ENV });
    imageIn(privateEcr, ImageSource.fromRegistry('210987654321.dkr.ecr.us-west-2.amazonaws.com/team/app:7'));
    const ecr = imageResource(privateEcr);
    expect(ecr.properties).toMatchObject({ SourceAuth: 'ecr', SourceEcrRegion: 'us-west-2' });
    expectEcrPullGrants(privateEcr, ecr.statements,
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:us-west-2:210987654321:repository/team/app']] });
  });

  test('sourceDigest is a deploy-time attribute', () => {
    const stack = newStack();
    const image = imageIn(stack, ImageSource.fromRegistry('alpine'));
    expect(stack.resolve(image.sourceDigest)).toEqual({ 'Fn::GetAtt': [imageResource(stack).id, 'SourceDigest'] });
  });

  test.each([
    ['https://ghcr.io/acme/tool', {}, /TestStack\/Image: source must be a valid registry image: "https:\/\/ghcr.io\/acme\/tool" is not an image reference: it must not have a scheme/],
    ['ghcr.io/Acme/tool', {}, /source must be a valid registry image: .*repository component "Acme"/],
    ['ghcr.io/acme/tool', { platform: 'arm64' }, /source must be a valid registry image: "arm64" is not a platform/],
  ])('%s %j fails synth', (reference, options, message) => {
    expect(() => imageIn(newStack(), ImageSource.fromRegistry(reference, options))).toThrow(message);
  });
});
