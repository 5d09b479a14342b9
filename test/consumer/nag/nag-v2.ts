/**
 * cdk-nag 2 (an Aspect; installed as `cdk-nag-2` beside cdk-nag 3 in the consumer project) on every construct of the
 * library: prints the AwsSolutions findings left (error and warning annotations) as JSON. Compiled and run by the
 * consumer stage only, against the aws-cdk-lib and cdk-nag it installed.
 */
import { Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag-2';
import { everyConstruct } from './every-construct';

const { app, stack, ciRole } = everyConstruct();
Aspects.of(app).add(new AwsSolutionsChecks());
NagSuppressions.addResourceSuppressions(ciRole, [{
  id: 'AwsSolutions-IAM5',
  reason: 'ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken accept Resource "*" only',
  appliesTo: ['Resource::*'],
}], true);
const assembly = app.synth();
const findings = assembly.getStackArtifact(stack.artifactId).messages
  .filter((m) => m.level !== 'info' && /AwsSolutions-/.test(String(m.entry.data)))
  .map((m) => `${m.id}: ${m.entry.data}`);
console.log(JSON.stringify({ findings }));
