/** Running a synthesized app's lifecycle sweepers against the local emulator. */
export { sweepApp, LocalSweepError } from './sweep';
export type { LocalSweepOptions, StackSweep } from './sweep';
export type { RepositorySweep } from './result';
