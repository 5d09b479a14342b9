/**
 * An exclusive lock on a directory, held by one process at a time: a lock file created with `O_EXCL` naming its holder
 * (PID, what it runs, its endpoint once known). Node has no `flock`; a lock file whose process is gone (killed, the
 * machine restarted) is stale and is taken over. Taking over runs under a second, short-lived lock (a directory made
 * with `mkdir`, which is atomic) so that two processes finding the same stale file cannot both take it: only the
 * process holding the takeover lock removes a lock file it does not own, after reading it again.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { replaceFile, WriteOptions } from './durable-file';

/**
 * A lock file is written atomically but not flushed: a crash of the machine ends its holder, whose lock is then stale
 * whatever the disk kept.
 */
const NOT_DURABLE: WriteOptions = { durable: false };

/** Who holds a lock, as its lock file says. */
export interface LockHolder {
  readonly pid: number;
  /** What the process runs (`cli.js serve`, `cli.js deploy`, a test runner). */
  readonly command: string;
  /** The endpoint it serves, once it listens. @default - none yet */
  readonly endpoint?: string;
  /** The start time of the process (Linux `/proc/<pid>/stat`), so that a PID reused by another process is not taken for the holder. @default - not known */
  readonly processStart?: string;
  /** Identifies this holding: a process only ever removes its own. */
  readonly nonce: string;
}

/** The lock is held by another live process. */
export class DirectoryLockedError extends Error {
  constructor(public readonly lockFile: string, public readonly holder: LockHolder, what: string) {
    super(`${what} is in use by process ${holder.pid} (${holder.command}${holder.endpoint ? `, endpoint ${holder.endpoint}` : ''}); `
      + `stop it first${holder.endpoint ? `, or use its endpoint (--endpoint ${holder.endpoint})` : ''}`);
    this.name = 'DirectoryLockedError';
  }
}

/** A takeover lock older than this was left by a process killed in the middle of a takeover (which takes microseconds). */
const TAKEOVER_STALE_MS = 10_000;
/** How often a stale lock is looked at again while another process takes it over, and how long between looks. */
const TAKEOVER_ATTEMPTS = 200;
const TAKEOVER_WAIT_MS = 10;

export class DirectoryLock {
  /**
   * Takes the lock `file` for this process, taking over a stale one. Throws {@link DirectoryLockedError} naming the
   * holder when another live process holds it; `what` names what is locked in that message.
   */
  public static acquire(file: string, what: string): DirectoryLock {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const holder: LockHolder = {
      pid: process.pid,
      command: describeProcess(),
      processStart: processStart(process.pid),
      nonce: randomBytes(12).toString('hex'),
    };
    for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
      if (createExclusive(file, holder)) return new DirectoryLock(file, holder);
      const current = readHolder(file);
      if (current && isAlive(current)) throw new DirectoryLockedError(file, current, what);
      // Another process taking the same stale lock over: let it finish, then look again.
      if (!takeOverStale(file, current)) sleep(TAKEOVER_WAIT_MS);
    }
    throw new Error(`Could not take the lock ${file}: it changed hands repeatedly`);
  }

  /** The live holder of the lock `file`, if any. */
  public static holder(file: string): LockHolder | undefined {
    const current = readHolder(file);
    return current && isAlive(current) ? current : undefined;
  }

  private released = false;

  private constructor(public readonly file: string, private holder: LockHolder) {}

  /** Records the endpoint this process serves, for whoever finds the lock taken. */
  public setEndpoint(endpoint: string): void {
    if (this.released) return;
    this.holder = { ...this.holder, endpoint };
    replaceFile(this.file, Buffer.from(JSON.stringify(this.holder)), NOT_DURABLE);
  }

  /** Releases the lock (if this process still holds it). */
  public release(): void {
    if (this.released) return;
    this.released = true;
    if (readHolder(this.file)?.nonce === this.holder.nonce) fs.rmSync(this.file, { force: true });
  }
}

/** Creates the lock file for `holder` unless one exists; whether it did. */
function createExclusive(file: string, holder: LockHolder): boolean {
  // Written under a temporary name and linked into place: `link` fails when the name exists, and the file it links
  // is complete, so no reader ever sees a lock file half written.
  const tmp = `${file}.${holder.nonce}.tmp`;
  replaceFile(tmp, Buffer.from(JSON.stringify(holder)), NOT_DURABLE);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Removes a stale lock file, under the takeover lock, if it is still the one read (`stale`) and still stale. False when
 * another process holds the takeover lock.
 */
function takeOverStale(file: string, stale: LockHolder | undefined): boolean {
  const takeover = `${file}.takeover`;
  try {
    fs.mkdirSync(takeover);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const age = Date.now() - (fs.statSync(takeover, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > TAKEOVER_STALE_MS) fs.rmSync(takeover, { recursive: true, force: true });
    return false;
  }
  try {
    const current = readHolder(file);
    const same = current?.nonce === stale?.nonce;
    if (same && !(current && isAlive(current))) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(takeover, { recursive: true, force: true });
  }
  return true;
}

/** Waits `ms` milliseconds without returning to the event loop (taking a lock is synchronous, as opening a store is). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The holder a lock file names; undefined when there is none, or when it is unreadable (a stale leftover). */
function readHolder(file: string): LockHolder | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text);
    if (Number.isInteger(parsed.pid) && parsed.pid > 0 && typeof parsed.nonce === 'string') return parsed as LockHolder;
  } catch {
    // fall through: a lock file that is not one of ours cannot name a live holder
  }
  return { pid: 0, command: 'unknown', nonce: `unreadable:${text.length}:${text.slice(0, 64)}` };
}

/** Whether the holder's process still runs (and is the same process, when its start time is known). */
function isAlive(holder: LockHolder): boolean {
  if (holder.pid <= 0) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: the process exists, under another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (holder.processStart === undefined) return true;
  const start = processStart(holder.pid);
  return start === undefined || start === holder.processStart;
}

/** The start time of a process in clock ticks since boot (field 22 of `/proc/<pid>/stat`), where /proc exists. */
function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function describeProcess(): string {
  const script = process.argv[1] ? path.basename(process.argv[1]) : 'node';
  return [script, process.argv[2]].filter((part) => part !== undefined && !part.startsWith('-')).join(' ');
}
