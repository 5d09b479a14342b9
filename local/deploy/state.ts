/**
 * Deployment state: `<data dir>/deployments/<stack name>.json` records what was deployed for a stack (physical ids,
 * resolved properties, attributes, dependencies, policies and which handler code serves each resource), so that the
 * next deploy is an update and `destroy` knows what to delete, the requests sent to handlers whose outcome is not
 * recorded yet (re-sent by the next run), and what a deploy changed until it completes (what a rollback returns to). Written atomically after every change. The handler code each resource was
 * deployed with is kept beside it (`handler-code/<asset hash>/`), for Deletes after the cloud assembly has changed or
 * is gone.
 *
 * Logical ids, export names, property names and attribute names are the user's: in memory they are `Map` keys, and the
 * file is read into objects without a prototype, so that `__proto__` or `constructor` is data like any other name.
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { CustomResourceRequest } from './handler';
import { parseJsonData } from './json-data';
import { collectKeptAssets } from './kept-assets';
import { replaceFile } from '../store/durable-file';

/**
 * A function's execution role as the deployer registers it with the emulator (which lets IAM decide each of the
 * handler's calls as this principal): its ARN, identity policies and tags, resolved from the template.
 */
export interface RoleRecord {
  readonly arn: string;
  /** Inline policies, `AWS::IAM::Policy` and managed policies attached to the role, each named for messages. */
  readonly policies: ReadonlyArray<{ readonly name: string; readonly document: unknown }>;
  /** The role's tags (`aws:PrincipalTag/<key>`). @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Where a resource's handler code is and how to run it. */
export interface HandlerRef {
  /** The AWS::Lambda::Function the ServiceToken names. */
  readonly functionLogicalId: string;
  /** The id (hash) of the directory asset holding the code. */
  readonly codeHash: string;
  /** The function's `Handler`, `<module>.<export>` (`index.handler`). */
  readonly entry: string;
  /** The function's timeout, in seconds. */
  readonly timeoutSeconds: number;
  readonly memorySize?: number;
  /**
   * The function's execution role when it was last resolved from the template: the role a Delete runs as once the
   * function has left the template. @default - none recorded (state written before roles were)
   */
  readonly role?: RoleRecord;
}

export interface DeployedResource {
  readonly type: string;
  readonly physicalResourceId: string;
  /** The resolved properties the resource was last created or updated with, ServiceToken included. */
  readonly properties: Record<string, unknown>;
  /** The attributes its handler returned. */
  readonly data: Record<string, string>;
  /** Our resources it depends on. */
  readonly dependsOn: string[];
  readonly deletionPolicy?: string;
  readonly updateReplacePolicy?: string;
  readonly handler: HandlerRef;
}

/** A physical resource left behind by a replacement, deleted after the deploy (kept here until it is). */
export interface PendingDelete extends DeployedResource {
  readonly logicalId: string;
}

/** What a handler answered, as far as the deploy needs it. */
export interface RecordedResponse {
  readonly status: 'SUCCESS' | 'FAILED';
  readonly reason?: string;
  readonly physicalResourceId?: string;
  readonly data: Record<string, string>;
}

/**
 * A request sent to a handler whose outcome is not applied to the state yet: written before the handler runs, and
 * removed in the same write that applies its outcome. A run that finds one was interrupted (killed) while the handler
 * ran, and sends the same request again (same RequestId), as CloudFormation re-sends a request: the handlers recognise
 * a request they already carried out. One per resource, so that resources deployed side by side each have theirs.
 */
export interface InFlightRequest {
  readonly requestId: string;
  /** The request as sent, without its ResponseURL (each delivery gets a fresh one). */
  readonly request: CustomResourceRequest;
  /** The code that serves it (its stored copy serves the re-sent request). */
  readonly handler: HandlerRef;
  /** For Create and Update: the resource as it is recorded once the handler succeeds (physical id and data aside). */
  readonly resource?: Omit<DeployedResource, 'physicalResourceId' | 'data'>;
  /** For Delete: why the resource is deleted (which record the Delete removes). */
  readonly deletion?: 'removed' | 'replaced' | 'destroyed';
  /** A step of a rollback (see rollback.ts): its outcome returns the resource to its `changes` record. */
  readonly rollback?: true;
  /**
   * The first response the handler sent, recorded as it arrived: as with CloudFormation, the first response counts,
   * also when the request is sent again after a kill.
   */
  response?: RecordedResponse;
}

/**
 * A resource a deploy changed, as the last completed deploy left it: what a rollback returns it to. Recorded before the
 * deploy's first request for the resource, and dropped when the deploy completes or the rollback has undone it.
 */
export interface PriorRecord {
  /** The resource before the change; absent: it was not deployed. */
  readonly resource?: DeployedResource;
  /** The physical ids of its replaced resources that were awaiting deletion then. */
  readonly pending: string[];
  /**
   * A Create or Update that failed: the resource as it was attempted, with the physical id of the FAILED response (the
   * handlers' `CREATE_FAILED` marker for a Create). The rollback sends it a Delete or an Update back, as CloudFormation
   * does to the resource that failed.
   */
  attempt?: DeployedResource;
}

/** A rollback that began and has not completed: the next deploy continues it before it deploys. */
export interface RollbackMarker {
  /** The first failure of the deploy rolled back. */
  readonly cause: string;
  readonly startedAt: string;
  /** The rollback's own failure, when it stopped. */
  failure?: string;
}

export interface DeploymentState {
  readonly version: 1;
  readonly stackName: string;
  /** `arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`, stable while the state exists. */
  readonly stackId: string;
  readonly accountId: string;
  readonly region: string;
  /** By logical id. */
  readonly resources: Map<string, DeployedResource>;
  pendingDeletes: PendingDelete[];
  /** Requests sent and not yet applied (see InFlightRequest). */
  inFlight: InFlightRequest[];
  /** Export name to value, from the template's Outputs, for Fn::ImportValue in other stacks. */
  exports: Map<string, string>;
  /** By logical id: the resources changed since the last completed deploy (see PriorRecord). */
  readonly changes: Map<string, PriorRecord>;
  /** Set while a rollback is under way or stopped (see RollbackMarker). */
  rollback?: RollbackMarker;
  updatedAt: string;
}

/** The state as the file holds it: maps as JSON objects. */
type StateFile = Omit<DeploymentState, 'resources' | 'exports' | 'changes'> & {
  readonly resources: Record<string, DeployedResource>;
  readonly exports?: Record<string, string>;
  readonly changes?: Record<string, PriorRecord>;
};

const STATE_DIR = 'deployments';
const CODE_DIR = 'handler-code';

export class StateStore {
  public readonly dir: string;
  /** Each stack's state as this store last read or wrote it (without its time): what need not be written again. */
  private readonly onDisk = new Map<string, string>();

  constructor(dataDir: string) {
    this.dir = path.resolve(dataDir, STATE_DIR);
  }

  public file(stackName: string): string {
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(stackName)) throw new Error(`'${stackName}' is not a valid stack name`);
    return path.join(this.dir, `${stackName}.json`);
  }

  public load(stackName: string): DeploymentState | undefined {
    const file = this.file(stackName);
    if (!fs.existsSync(file)) return undefined;
    let stored: StateFile;
    try {
      stored = parseJsonData(fs.readFileSync(file, 'utf8')) as StateFile;
    } catch (err) {
      throw new Error(`Cannot read the deployment state ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (stored.version !== 1) throw new Error(`${file}: unknown state version ${String(stored.version)}`);
    this.onDisk.set(stackName, timeless(stored));
    return {
      ...stored,
      resources: new Map(Object.entries(stored.resources ?? {})),
      pendingDeletes: stored.pendingDeletes ?? [],
      inFlight: stored.inFlight ?? [],
      exports: new Map(Object.entries(stored.exports ?? {})),
      changes: new Map(Object.entries(stored.changes ?? {})),
    };
  }

  /** The stored state, or a new one (not yet written) with a new stack id. */
  public loadOrCreate(stackName: string, accountId: string, region: string): DeploymentState {
    const existing = this.load(stackName);
    if (existing) {
      if (existing.accountId !== accountId) {
        throw new Error(`The stack '${stackName}' was deployed to account ${existing.accountId} (${this.file(stackName)}), `
          + `but the emulator serves account ${accountId}: use the emulator and --account-id it was deployed with, or another --data directory`);
      }
      return existing;
    }
    return {
      version: 1,
      stackName,
      stackId: `arn:aws:cloudformation:${region}:${accountId}:stack/${stackName}/${randomUUID()}`,
      accountId,
      region,
      resources: new Map(),
      pendingDeletes: [],
      inFlight: [],
      exports: new Map(),
      changes: new Map(),
      updatedAt: new Date().toISOString(),
    };
  }

  /**
   * Writes the state durably and atomically (`replaceFile`: checked writes, fsync, rename, fsync of the directory): a
   * full disk or an I/O error throws and leaves the previous state intact. A state that is what this store last read or
   * wrote is not written again (a deploy that changes nothing writes nothing).
   */
  public save(state: DeploymentState): void {
    // Object.fromEntries defines each key as an own property, `__proto__` included.
    const stored: StateFile = {
      ...state,
      resources: Object.fromEntries(state.resources),
      exports: Object.fromEntries(state.exports),
      changes: Object.fromEntries(state.changes),
    };
    const content = timeless(stored);
    if (this.onDisk.get(state.stackName) === content) return;
    const updatedAt = new Date().toISOString();
    // The time is the last member, appended to the text already made: the state is serialized once per save (a
    // deploy saves after every resource, and a state of hundreds of resources takes milliseconds to serialize).
    replaceFile(this.file(state.stackName), Buffer.from(`${content.slice(0, -1)},"updatedAt":${JSON.stringify(updatedAt)}}\n`));
    state.updatedAt = updatedAt;
    this.onDisk.set(state.stackName, content);
  }

  public remove(stackName: string): void {
    fs.rmSync(this.file(stackName), { force: true });
    this.onDisk.delete(stackName);
  }

  /** Every stored stack's exports, for Fn::ImportValue. */
  public allExports(): Map<string, string> {
    const exports = new Map<string, string>();
    if (!fs.existsSync(this.dir)) return exports;
    for (const name of fs.readdirSync(this.dir).filter((n) => n.endsWith('.json')).sort()) {
      const state = this.load(name.slice(0, -'.json'.length));
      for (const [k, v] of state?.exports ?? []) exports.set(k, v);
    }
    return exports;
  }

  /** The stored copy of a handler's code directory. */
  public codeDir(codeHash: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(codeHash)) throw new Error(`'${codeHash}' is not an asset hash`);
    return path.join(this.dir, CODE_DIR, codeHash);
  }

  /**
   * Keeps a copy of a handler's code directory (once per hash), so that it can serve Deletes later; `verify` throws
   * when the code must not be copied.
   */
  public keepCode(codeHash: string, sourceDir: string, verify?: () => void): void {
    const target = this.codeDir(codeHash);
    if (fs.existsSync(target)) return;
    verify?.();
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.cpSync(sourceDir, tmp, { recursive: true, dereference: true });
    fs.renameSync(tmp, target);
  }

  /** Removes the stored code, and the kept file assets (kept-assets.ts), no stack's state refers to any longer. */
  public collectCode(): void {
    if (fs.existsSync(this.dir)) {
      const texts = fs.readdirSync(this.dir).filter((n) => n.endsWith('.json')).map((n) => fs.readFileSync(path.join(this.dir, n), 'utf8'));
      collectKeptAssets(this.dir, texts);
    }
    const codeRoot = path.join(this.dir, CODE_DIR);
    if (!fs.existsSync(codeRoot)) return;
    const used = new Set<string>();
    for (const name of fs.readdirSync(this.dir).filter((n) => n.endsWith('.json'))) {
      const state = this.load(name.slice(0, -'.json'.length));
      if (!state) continue;
      for (const r of [...state.resources.values(), ...state.pendingDeletes, ...state.inFlight]) used.add(r.handler.codeHash);
      // A rollback runs each resource's Update back with the code it was deployed with before.
      for (const c of state.changes.values()) {
        for (const r of [c.resource, c.attempt]) if (r) used.add(r.handler.codeHash);
      }
    }
    for (const hash of fs.readdirSync(codeRoot)) {
      if (!used.has(hash)) fs.rmSync(path.join(codeRoot, hash), { recursive: true, force: true });
    }
  }
}

/** A stored state as text (an object with at least its version), without the time it was written. */
function timeless(stored: StateFile): string {
  return JSON.stringify({ ...stored, updatedAt: undefined });
}
