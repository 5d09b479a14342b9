/**
 * What a deploy or destroy prints, and the result it returns: one line per resource as it is done (action, logical id,
 * type, physical id, key attributes), the resources that were skipped, totals, and a failure's reason with the
 * handler's output.
 */
import type { Session } from './session';
import { DeployResult, LocalDeployError, ResourceOutcome, SkippedResource, StackResult } from './types';

/** Attributes worth a glance, in this order. */
const KEY_ATTRIBUTES = ['RepositoryUri', 'RegistryUri', 'ImageDigest', 'ImageUri', 'ExpiredImages', 'WouldExpireImages'];

export class Progress {
  public readonly result: DeployResult;
  private current?: StackResult;

  constructor(private readonly session: Session) {
    this.result = { endpoint: session.endpoint, accountId: session.accountId, stacks: [], resources: [], skipped: [] };
  }

  private get log(): (line: string) => void {
    return this.session.log;
  }

  /** Starts a stack's section. */
  public stack(verb: 'Deploying' | 'Destroying', stackName: string, stackId: string, stateFile: string, region: string): void {
    this.current = { stackName, stackId, stateFile, resources: [], skipped: [] };
    this.result.stacks.push(this.current);
    const where = this.session.emulator
      ? `the in-process emulator at ${this.session.endpoint} (data in ${this.session.dataDir})`
      : `the emulator at ${this.session.endpoint}`;
    this.log(`${verb} ${stackName} ${verb === 'Deploying' ? 'to' : 'in'} ${where}, account ${this.session.accountId}, region ${region}`);
  }

  public note(text: string): void {
    this.log(`  ${text}`);
  }

  /** Records and prints an outcome. */
  public outcome(outcome: ResourceOutcome): void {
    this.current?.resources.push(outcome);
    this.result.resources.push(outcome);
    this.log(formatOutcome(outcome));
    if (outcome.action === 'retained') {
      this.log(`${' '.repeat(13)}${outcome.retainedBy ?? 'Retain'}: left in place in the emulator and no longer managed by this stack`);
    }
  }

  /** Records the skipped resources (printed by `printSkipped`). */
  public skipped(skipped: SkippedResource[]): void {
    this.current?.skipped.push(...skipped);
    this.result.skipped.push(...skipped);
  }

  /** Prints the current stack's skipped resources: one line by type, and each of them with --verbose. */
  public printSkipped(): void {
    const skipped = this.current?.skipped ?? [];
    if (skipped.length === 0) return;
    const byType = new Map<string, number>();
    for (const s of skipped) byType.set(s.type, (byType.get(s.type) ?? 0) + 1);
    const types = [...byType.entries()].map(([t, n]) => `${t} x${n}`).join(', ');
    this.log(`  skipped    ${skipped.length} resource(s) that are not ECR Public custom resources (nothing deployed locally): ${types}`);
    if (this.session.verbose) {
      for (const s of skipped) this.log(`             skipped ${s.logicalId} (${s.type})`);
    }
  }

  /** The stack's totals. */
  public done(verb: 'Deployed' | 'Destroyed'): void {
    const stack = this.current;
    if (!stack) return;
    const counts = new Map<string, number>();
    for (const r of stack.resources) counts.set(r.action, (counts.get(r.action) ?? 0) + 1);
    const parts = [...counts.entries()].map(([action, n]) => `${n} ${action}`);
    this.log(`${verb} ${stack.stackName}: ${parts.length ? parts.join(', ') : 'nothing to do'}`);
  }

  /**
   * Prints a failure and returns the error to throw: the reason, the handler's output (unless already shown), and that
   * nothing is rolled back.
   */
  public failure(opts: {
    readonly operation: 'deploy' | 'destroy';
    readonly stackName: string;
    readonly stateFile: string;
    readonly message: string;
    readonly reason?: string;
    readonly logicalId?: string;
    readonly type?: string;
    readonly requestType?: string;
    readonly logs?: string[];
  }): LocalDeployError {
    const what = opts.logicalId ? `${opts.logicalId} (${opts.type ?? 'resource'})${opts.requestType ? ` ${opts.requestType}` : ''}` : opts.stackName;
    this.log(`  FAILED     ${what}: ${opts.reason ?? opts.message}`);
    const logs = opts.logs ?? [];
    if (logs.length > 0 && !this.session.verbose) {
      this.log('             handler output:');
      for (const line of logs) this.log(`    | ${line}`);
    }
    // A Delete is sent with the properties recorded at the last deploy, not the app's current ones: a destroy that
    // failed on them fails the same way until a deploy has recorded corrected ones.
    const next = opts.operation === 'destroy'
      ? 'destroy sends the properties recorded at the last deploy, so fix the cause in the app, run deploy, then destroy again.'
      : `fix the cause and run ${opts.operation} again.`;
    this.log(`The ${opts.operation} of ${opts.stackName} stopped. There is no rollback: what succeeded stays in place and is recorded in ${opts.stateFile}; ${next}`);
    return new LocalDeployError(
      opts.reason ? `${what} failed: ${opts.reason}` : opts.message,
      opts.reason,
      this.result,
      opts.logicalId,
      logs,
    );
  }
}

function formatOutcome(o: ResourceOutcome): string {
  const attributes = KEY_ATTRIBUTES.filter((k) => o.data[k]).map((k) => `${k}=${o.data[k]}`);
  const extra = [
    ...(o.replacedPhysicalResourceId !== undefined ? [`(replaces ${o.replacedPhysicalResourceId})`] : []),
    ...(o.reason && o.reason !== 'destroyed' && o.action !== 'retained' ? [`(${o.reason})`] : []),
    ...attributes,
  ];
  return `  ${o.action.padEnd(10)} ${o.logicalId}  ${o.type}  ${o.physicalResourceId}${extra.length ? '  ' + extra.join('  ') : ''}`;
}
