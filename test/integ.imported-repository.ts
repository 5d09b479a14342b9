/** Integration test: catalog data, a policy and a mirrored image for a repository created outside CDK. */
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Aspects, Stack, aws_iam as iam } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ImageSource, OperatingSystem, PublicImage, PublicRepository, PublicRepositoryCatalogData, PublicRepositoryPolicy } from '../src';

const app = new App();
const stack = new Stack(app, 'EcrPublicImportedRepository');
const repository = PublicRepository.fromRepositoryName(stack, 'Api', 'acme/api');
new PublicRepositoryCatalogData(stack, 'Catalog', {
  repository,
  description: 'The Acme API, published from another pipeline',
  operatingSystems: [OperatingSystem.LINUX],
});
new PublicRepositoryPolicy(stack, 'Policy', { repository }).addStatements(new iam.PolicyStatement({
  sid: 'PartnerPush',
  principals: [new iam.AccountPrincipal('111122223333')],
  actions: ['ecr-public:BatchCheckLayerAvailability', 'ecr-public:InitiateLayerUpload', 'ecr-public:UploadLayerPart',
    'ecr-public:CompleteLayerUpload', 'ecr-public:PutImage'],
}));
new PublicImage(stack, 'Mirror', { repository, source: ImageSource.fromRegistry('public.ecr.aws/docker/library/busybox:1.36'), tags: ['busybox-1.36'] });
Aspects.of(app).add(new AwsSolutionsChecks());
new IntegTest(app, 'ImportedRepository', { testCases: [stack] });
app.synth();
