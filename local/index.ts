/** The local ECR Public emulator: start it from tests, or run the `ecr-public-local` bin. */
export { startEmulator } from './server';
export type { EmulatorOptions, IamOptions, RunningEmulator } from './server';
export { PrincipalDirectory } from './iam/principals';
export type { IssuedCredentials, PrincipalDefinition } from './iam/principals';
export { parsePolicy } from './iam/policy';
export { DirectoryLockedError } from './store/lock';
export type { LockHolder } from './store/lock';
export { parseFaultSpec } from './faults';
export type { FaultOptions } from './faults';
export { deployApp, destroyApp, LocalDeployError } from './deploy';
export type { DeployResult, LocalDeployOptions, ResourceAction, ResourceOutcome, RollbackReport, SkippedResource, StackResult, UndoneChange } from './deploy';
export { sweepApp, LocalSweepError } from './sweep';
export type { LocalSweepOptions, RepositorySweep, StackSweep } from './sweep';
