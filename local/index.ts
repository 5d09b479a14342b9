/** The local ECR Public emulator: start it from tests, or run the `ecr-public-local` bin. */
export { startEmulator, EmulatorOptions, RunningEmulator } from './server';
export { FaultOptions, parseFaultSpec } from './faults';
