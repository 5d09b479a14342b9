/**
 * What a deploy or destroy prints, and the result it returns: one line per resource as it is done (action, logical id,
 * type, physical id, key attributes), the resources that were skipped, totals, and a failure's reason with the
 * handler's output.
 */
import type { Session } from './session';
import { DeployResult, LocalDeployError, ResourceOutcome, RollbackReport, SkippedResource, StackResult, UndoneChange } from './types';

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
   * Prints a failure and returns the error to throw: the reason, the handler's output (unless already shown), and what
   * becomes of the run: a destroy or a deploy's cleanup stops there; a deploy's failure (`deferClosing`) says what
   * became of it once it has stopped (`rolledBack`, `notRolledBack`).
   */
  public failure(opts: {
    readonly operation: 'deploy' | 'destroy' | 'cleanup';
    readonly stackName: string;
    readonly stateFile: string;
    readonly message: string;
    readonly reason?: string;
    readonly logicalId?: string;
    readonly type?: string;
    readonly requestType?: string;
    readonly logs?: string[];
    /**
     * The caller says what became of the run once it has stopped (a deploy: after the resources still running, and its
     * rollback). @default false
     */
    readonly deferClosing?: boolean;
  }): LocalDeployError {
    const what = opts.logicalId ? `${opts.logicalId} (${opts.type ?? 'resource'})${opts.requestType ? ` ${opts.requestType}` : ''}` : opts.stackName;
    this.log(`  FAILED     ${what}: ${opts.reason ?? opts.message}`);
    const logs = opts.logs ?? [];
    if (logs.length > 0 && !this.session.verbose) {
      this.log('             handler output:');
      for (const line of logs) this.log(`    | ${line}`);
    }
    if (!opts.deferClosing) this.log(closingLine(opts.operation, opts.stackName, opts.stateFile));
    return new LocalDeployError(
      opts.reason ? `${what} failed: ${opts.reason}` : opts.message,
      opts.reason,
      this.result,
      opts.logicalId,
      logs,
    );
  }

  /** Ends a deploy that failed and is not rolled back (`noRollback`); returns the error to throw. */
  public notRolledBack(stackName: string, stateFile: string, first: LocalDeployError): LocalDeployError {
    this.log(closingLine('deploy', stackName, stateFile));
    return new LocalDeployError(first.message, first.reason, this.result, first.logicalId, first.handlerLogs, { status: 'disabled' });
  }

  /** Starts a rollback's section: the failure it undoes (`continued`: a rollback an earlier run left unfinished). */
  public rollingBack(stackName: string, cause: string, continued: boolean): void {
    this.log(continued
      ? `Continuing the rollback of ${stackName}, which an earlier deploy left unfinished (that deploy failed: ${cause})`
      : `Rolling back ${stackName} to what its last completed deploy left`);
  }

  /**
   * Ends a rollback: prints what became of the stack and, last, the cause of the first failure; returns the error to
   * throw (the first failure's, with `report`). `first` is undefined when the rollback continued one of an earlier run.
   */
  public rolledBack(opts: {
    readonly stackName: string;
    readonly stateFile: string;
    readonly cause: string;
    readonly first?: LocalDeployError;
    readonly report: RollbackReport;
  }): LocalDeployError {
    const { stackName, stateFile, cause, first, report } = opts;
    if (report.status === 'failed') {
      this.log(`The rollback of ${stackName} stopped at ${report.logicalId ?? 'a resource'}: ${report.reason ?? 'FAILED'}. `
        + `What is in place is recorded in ${stateFile}: fix the cause and run deploy again, which continues the rollback first `
        + '(as continue-update-rollback), then deploys; destroy deletes what is recorded.');
    } else {
      this.log(`Rolled back ${stackName} to what its last completed deploy left (recorded in ${stateFile}).`);
    }
    this.log(`The deploy of ${stackName} failed: ${cause}`);
    const logicalId = first?.logicalId ?? report.logicalId;
    return new LocalDeployError(first?.message ?? cause, first?.reason, this.result, logicalId, first?.handlerLogs ?? [], report);
  }
}

/** What a stopped run says last: what stays, and what to do next. */
function closingLine(operation: 'deploy' | 'destroy' | 'cleanup', stackName: string, stateFile: string): string {
  switch (operation) {
    case 'destroy':
      // A Delete is sent with the properties recorded at the last deploy, not the app's current ones: a destroy that
      // failed on them fails the same way until a deploy has recorded corrected ones.
      return `The destroy of ${stackName} stopped. There is no rollback: what succeeded stays in place and is recorded in ${stateFile}; `
        + 'destroy sends the properties recorded at the last deploy, so fix the cause in the app, run deploy, then destroy again.';
    case 'cleanup':
      return `The deploy of ${stackName} stopped in its cleanup, after every resource was deployed (a cleanup is not rolled back): `
        + `what remains to delete is recorded in ${stateFile}; fix the cause and run deploy again.`;
    default:
      return `The deploy of ${stackName} stopped and is not rolled back (no-rollback): what succeeded stays in place and is `
        + `recorded in ${stateFile}; fix the cause and run deploy again.`;
  }
}

/** How a rolled-back outcome says what was undone. */
const UNDONE_TEXT: Record<UndoneChange, string> = {
  creation: 'its creation undone: deleted',
  update: 'updated back to its previous properties',
  replacement: 'its replacement undone',
};

function formatOutcome(o: ResourceOutcome): string {
  const attributes = KEY_ATTRIBUTES.filter((k) => o.data[k]).map((k) => `${k}=${o.data[k]}`);
  const extra = [
    ...(o.replacedPhysicalResourceId !== undefined ? [`(replaces ${o.replacedPhysicalResourceId})`] : []),
    ...(o.reason && o.reason !== 'destroyed' && o.action !== 'retained' ? [`(${o.reason})`] : []),
    ...(o.undone !== undefined ? [`(${UNDONE_TEXT[o.undone]}${o.restoredPhysicalResourceId !== undefined ? `, back to ${o.restoredPhysicalResourceId}` : ''})`] : []),
    ...attributes,
  ];
  return `  ${o.action.padEnd(10)} ${o.logicalId}  ${o.type}  ${o.physicalResourceId}${extra.length ? '  ' + extra.join('  ') : ''}`;
}
