import { App, RemovalPolicy, Stack, StackProps, aws_iam as iam } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Architecture, CatalogText, Logo, OperatingSystem, PublicRegistry, PublicRepository } from '../../src';

export const FIXTURES = `${__dirname}/../fixtures`;

/** A stack in an app whose assets stay in the test's output directory. */
export function newStack(props: StackProps = {}): Stack {
  const app = new App();
  return new Stack(app, 'TestStack', props);
}

export function template(stack: Stack): Template {
  return Template.fromStack(stack);
}

/** The resources of one type, by logical id. */
export function resourcesOfType(stack: Stack, type: string): Record<string, any> {
  return template(stack).findResources(type);
}

/** Every IAM statement of the stack's policies that concerns ECR Public. */
export function ecrPublicStatements(stack: Stack): any[] {
  return Object.values(resourcesOfType(stack, 'AWS::IAM::Policy'))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
    .filter((s: any) => JSON.stringify(s.Action).includes('ecr-public:'));
}

/** A registry display name and a repository using every catalog field, a policy statement, DESTROY and emptyOnDelete. */
export function addRegistryAndFullRepository(stack: Stack): PublicRepository {
  new PublicRegistry(stack, 'Registry', { displayName: 'Acme Corp' });
  const repo = new PublicRepository(stack, 'Web', {
    repositoryName: 'acme/web',
    description: 'The Acme web server',
    architectures: [Architecture.X86_64, Architecture.ARM_64],
    operatingSystems: [OperatingSystem.LINUX],
    logo: Logo.fromFile(`${FIXTURES}/logo.png`),
    aboutText: CatalogText.fromFile(`${FIXTURES}/ABOUT.md`),
    usageText: CatalogText.fromString('Run `docker pull ...`'),
    removalPolicy: RemovalPolicy.DESTROY,
    emptyOnDelete: true,
  });
  repo.addToResourcePolicy(new iam.PolicyStatement({ actions: ['ecr-public:PutImage'], principals: [new iam.AccountPrincipal('111111111111')] }));
  return repo;
}
