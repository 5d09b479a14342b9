/**
 * cdk-nag 3 (a policy-validation plugin) on every construct of the library: synthesis fails on any finding not
 * acknowledged. Compiled and run by the consumer stage only, where aws-cdk-lib has `Validations` (2.257 and later).
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { everyConstruct } from './every-construct';

const { app, stack, ciRole } = everyConstruct();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
Validations.of(ciRole).acknowledge({
  id: 'AwsSolutions-IAM5[Resource::*]',
  reason: 'ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken accept Resource "*" only',
});
const assembly = app.synth();
console.log(JSON.stringify({ resources: Object.keys(assembly.getStackArtifact(stack.artifactId).template.Resources).length }));
