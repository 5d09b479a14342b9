/**
 * The example app: a registry display name, two repositories with full catalog data, a policy, a push grant, lifecycle
 * rules, and an image published at deploy time from a small OCI archive shipped beside this file.
 */
import * as path from 'path';
import { App, Duration, RemovalPolicy, Stack, StackProps, aws_iam as iam } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import {
  Architecture, CatalogText, ImageSource, Logo, OperatingSystem, PublicImage, PublicRegistry, PublicRepository, TagStatus,
} from '../src';

const ASSETS = path.join(__dirname, 'assets');

/** One stack using every construct of the library. */
export class ExampleStack extends Stack {
  public readonly image: PublicImage;
  /** The tools repository (the demo publishes an image built from a Dockerfile into it). */
  public readonly tools: PublicRepository;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    new PublicRegistry(this, 'Registry', { displayName: 'Acme Corp' });

    const hello = new PublicRepository(this, 'Hello', {
      repositoryName: 'acme/hello',
      description: 'A tiny image that prints a greeting',
      architectures: [Architecture.X86_64],
      operatingSystems: [OperatingSystem.LINUX],
      logo: Logo.fromFile(path.join(ASSETS, 'logo.png')),
      aboutText: CatalogText.fromFile(path.join(ASSETS, 'ABOUT.md')),
      usageText: CatalogText.fromFile(path.join(ASSETS, 'USAGE.md')),
      removalPolicy: RemovalPolicy.DESTROY,
      emptyOnDelete: true,
      // ECR Public has no lifecycle policies: the stack's sweeper applies these once a day and at deploy. The image
      // published below under 1.0.0 and latest is never expired.
      lifecycleRules: [
        { description: 'untagged images after a day', tagStatus: TagStatus.UNTAGGED, maxImageAge: Duration.days(1) },
        { description: 'the 20 newest pull-request builds', tagPatternList: ['pr-*'], maxImageCount: 20 },
      ],
    });
    hello.addLifecycleRule({ description: 'nightly builds for two weeks', tagPrefixList: ['nightly-'], maxImageAge: Duration.days(14) });

    const tools = this.tools = new PublicRepository(this, 'Tools', {
      repositoryName: 'acme/tools',
      description: 'Command-line tools of Acme, for ARM and x86',
      architectures: [Architecture.X86_64, Architecture.ARM_64],
      operatingSystems: [OperatingSystem.LINUX],
      logo: Logo.fromFile(path.join(ASSETS, 'logo.png')),
      aboutText: CatalogText.fromString('# Acme tools\n\nEverything the Acme team uses at the command line.'),
      usageText: CatalogText.fromString('Pull a tag and run it: `docker run public.ecr.aws/<alias>/acme/tools:<tag>`.'),
      removalPolicy: RemovalPolicy.DESTROY,
      emptyOnDelete: true,
    });

    // A partner account may push to the tools repository; the CI role of this account may push to both.
    tools.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'PartnerPush',
      principals: [new iam.AccountPrincipal('111122223333')],
      actions: ['ecr-public:BatchCheckLayerAvailability', 'ecr-public:InitiateLayerUpload', 'ecr-public:UploadLayerPart',
        'ecr-public:CompleteLayerUpload', 'ecr-public:PutImage'],
    }));
    const ci = new iam.Role(this, 'CiRole', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
    hello.grantPush(ci);
    tools.grantPush(ci);

    this.image = new PublicImage(this, 'HelloImage', {
      repository: hello,
      source: ImageSource.fromTarball(path.join(ASSETS, 'hello-image.tar')),
      tags: ['1.0.0', 'latest'],
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}

/** Builds the example app; `outdir` receives the cloud assembly. */
export function buildExampleApp(outdir?: string): App {
  const app = new App({ outdir });
  new ExampleStack(app, 'AcmePublicImages', { env: { region: 'eu-west-1' } });
  return app;
}

if (require.main === module) {
  buildExampleApp().synth();
}
