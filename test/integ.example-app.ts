/** Integration test: the example app (registry, two repositories with full catalog data, a policy, an image). */
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag';
import { ExampleStack } from '../examples/app';

const app = new App();
const stack = new ExampleStack(app, 'EcrPublicExampleApp', { env: { region: 'eu-west-1' } });
// grantPush's authentication actions exist on no narrower resource than '*': the one finding that is by design.
NagSuppressions.addResourceSuppressions(stack.node.findChild('CiRole'), [{
  id: 'AwsSolutions-IAM5',
  reason: 'ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken only accept Resource "*"',
  appliesTo: ['Resource::*'],
}], true);
// Any other AwsSolutions finding is an error annotation, which fails the synthesis.
Aspects.of(app).add(new AwsSolutionsChecks());
new IntegTest(app, 'ExampleApp', { testCases: [stack] });
app.synth();
