/** Deploying a synthesized CDK app's ECR Public custom resources to the local emulator, with their shipped handlers. */
export { deployApp } from './deploy';
export { destroyApp } from './destroy';
export { LocalDeployError } from './types';
export type { DeployResult, LocalDeployOptions, ResourceAction, ResourceOutcome, RollbackReport, SkippedResource, StackResult, UndoneChange } from './types';
