/** The public shapes of `deployApp` / `destroyApp`: options, per-resource outcomes, and the error a failure throws. */
import type { LambdaRuntimeOptions } from './lambda-runtime';

/** Options shared by `deployApp` and `destroyApp`. */
export interface LocalDeployOptions {
  /** The cloud assembly directory (`cdk.out`) that `app.synth()` or `cdk synth` wrote. */
  readonly assemblyDir: string;
  /**
   * The stack to deploy or destroy: its stack name, artifact id or display path (`Stage/Stack`).
   * @default - every stack of the assembly (in dependency order; destroy in reverse)
   */
  readonly stackName?: string;
  /**
   * Where the deployment state is kept (`<dataDir>/deployments/<stack>.json`), and the in-process emulator's data when
   * no endpoint is given.
   * @default '.emulator-data'
   */
  readonly dataDir?: string;
  /**
   * A running emulator's endpoint (`ecr-public-local serve`).
   * @default - `AWS_ENDPOINT_URL_ECR_PUBLIC` when set, else an emulator started in-process on `dataDir`
   */
  readonly endpoint?: string;
  /**
   * The emulator's account id: `AWS::AccountId`. Checked against the emulator.
   * @default - the registry's id when the emulator has one, else '123456789012'
   */
  readonly accountId?: string;
  /**
   * The emulator account root's key pair, with which the deployer registers the handlers' roles and gets their
   * credentials (an emulator started with `serve --iam --root-credentials KEY:SECRET` needs the same here).
   * @default - `local` / `local`
   */
  readonly rootCredentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Port of the in-process emulator (ignored with an endpoint). @default 0 (any free port) */
  readonly port?: number;
  /** Print the handlers' log lines and every skipped resource. @default false */
  readonly verbose?: boolean;
  /** Where progress and the summary go, one line per call. @default console.log */
  readonly log?: (line: string) => void;
  /**
   * deploy only: writes the deployed stacks' outputs to this file, as `cdk deploy --outputs-file` does
   * (`{ "<stack>": { "<output>": "<value>" } }`), rewritten after each stack.
   * @default - no file
   */
  readonly outputsFile?: string;
  /**
   * deploy only: a stack whose deploy fails is not rolled back, as `cdk deploy --no-rollback`: what succeeded stays in
   * place and recorded, and the next deploy goes on from there (a rollback it needs returns to the last completed
   * deploy).
   * @default false - a failed deploy of a stack is rolled back to what its last completed deploy left, as
   * CloudFormation does
   */
  readonly noRollback?: boolean;
  /**
   * How handlers are run as Lambda runs them: the waits before the retries of a failed run (tests shorten Lambda's
   * minutes), and faults of a run's environment.
   * @default - Lambda's retries, one and two minutes after a failed run
   */
  readonly lambda?: LambdaRuntimeOptions;
}

/** What happened to one custom resource. */
export type ResourceAction = 'created' | 'updated' | 'unchanged' | 'replaced' | 'deleted' | 'retained' | 'rolled back';

/** What a rollback undid: a resource created (deleted again), updated (updated back), or replaced (the new one deleted). */
export type UndoneChange = 'creation' | 'update' | 'replacement';

export interface ResourceOutcome {
  readonly stackName: string;
  readonly logicalId: string;
  readonly type: string;
  readonly action: ResourceAction;
  readonly physicalResourceId: string;
  /** The attributes the handler returned (Fn::GetAtt), for created, updated, unchanged and replaced resources. */
  readonly data: Record<string, string>;
  /** For `replaced`: the physical id it had before (deleted or retained after the deploy). */
  readonly replacedPhysicalResourceId?: string;
  /**
   * For `deleted` and `retained`: why (`removed` from the template, `replaced` by a new physical id, stack `destroyed`,
   * or `rolled back`: created by a deploy that failed).
   */
  readonly reason?: 'removed' | 'replaced' | 'destroyed' | 'rolled back';
  /**
   * For `rolled back`: what was undone. `physicalResourceId` is the resource the rollback sent its request to: the one
   * deleted (a creation, the new side of a replacement) or updated back.
   */
  readonly undone?: UndoneChange;
  /** For a `rolled back` replacement: the physical id the resource has again. */
  readonly restoredPhysicalResourceId?: string;
  /**
   * For `retained`: what kept it (`DeletionPolicy Retain`, `UpdateReplacePolicy Retain`, or the resource's own
   * `removalPolicy`, which its handler honours on Delete).
   */
  readonly retainedBy?: string;
}

/** A resource of the template that is not an ECR Public custom resource: nothing is deployed for it. */
export interface SkippedResource {
  readonly stackName: string;
  readonly logicalId: string;
  readonly type: string;
}

export interface StackResult {
  readonly stackName: string;
  readonly stackId: string;
  /** Where the deployment state is kept. */
  readonly stateFile: string;
  readonly resources: ResourceOutcome[];
  readonly skipped: SkippedResource[];
}

export interface DeployResult {
  /** The emulator deployed to. */
  readonly endpoint: string;
  readonly accountId: string;
  readonly stacks: StackResult[];
  /** Every stack's outcomes, in the order they happened. */
  readonly resources: ResourceOutcome[];
  readonly skipped: SkippedResource[];
}

/** What became of the changes of a deploy that failed. */
export interface RollbackReport {
  /**
   * `complete`: every resource is as the last completed deploy left it; `failed`: the rollback stopped at `logicalId`
   * (recorded in the state: the next deploy continues it first); `disabled`: not rolled back (`noRollback`), what
   * succeeded stays in place and recorded.
   */
  readonly status: 'complete' | 'failed' | 'disabled';
  /** For `failed`: the resource the rollback stopped at. */
  readonly logicalId?: string;
  /** For `failed`: why (the handler's reason, or what kept the request from being sent). */
  readonly reason?: string;
}

/**
 * A deploy or destroy that stopped: a handler answered FAILED (or could not run). A deploy's changes are rolled back
 * (see `rollback`); the state records what is in place, and `result` lists what was done, rollback included. The
 * message, reason, logical id and logs are those of the first failure, whatever the rollback did.
 */
export class LocalDeployError extends Error {
  constructor(
    message: string,
    /** The handler's reason (`<ErrorName>: <message>`), when a handler answered FAILED. */
    public readonly reason: string | undefined,
    /** What had been done before the failure. */
    public readonly result: DeployResult,
    /** The failing resource, when the failure is one resource's. */
    public readonly logicalId?: string,
    /** The failing handler's log lines. */
    public readonly handlerLogs: string[] = [],
    /** For a deploy: what became of its changes. @default - not a deploy's failure (a destroy's) */
    public readonly rollback?: RollbackReport,
  ) {
    super(message);
    this.name = 'LocalDeployError';
  }
}
