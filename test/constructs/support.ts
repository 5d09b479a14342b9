import { App, Stack, StackProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

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
