/**
 * Where the emulator keeps its state: the records in memory, and with a data directory, on disk record by record
 * (`record-files.ts`); blobs, manifests, uploads and logos are files under a root directory (the data directory, or a
 * temporary one removed at stop).
 *
 * **Every change is stored before it is answered, or not at all.** Operations change the records in memory (through
 * `TrackedState`, which reports each change first, so the store keeps the record as it was) and call `commit()`.
 * `commit()` writes the records that changed, checked and flushed; if the disk refuses (a full disk, an I/O error, a
 * short write), the records in memory are put back as they were, the files the change created are removed, and a
 * {@link StorageError} is thrown: nothing of the change remains, in memory or on disk. A change not committed by the
 * end of the synchronous step that made it (an operation that threw half way) is put back the same way;
 * `transaction(fn)` makes that boundary explicit. Files a change stops referring to (an upload's bytes, a blob, a
 * manifest or a logo nothing refers to any more) are removed only once the change is stored.
 *
 * A data directory is used by one process at a time (`emulator.lock`, see `lock.ts`).
 */
import { createHash, Hash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { removeFile, replaceFile, StorageError, storageError, syncDirectory, writeFully } from './durable-file';
import { ExpiryQueue } from './expiry-queue';
import { storeHolder, storeLockFile } from './holder';
import { DirectoryLock, LockHolder } from './lock';
import { LEGACY_DOCUMENT, readLegacyState, removeLegacyFiles } from './migration';
import { dict, emptyState, has, RegistryRecord, reviveRepository, reviveUpload, RepositoryRecord, State, UploadRecord } from './model';
import { RecordChange, RecordFiles, IncompleteChangeError } from './record-files';
import { ContentKey, contentFilesOf, ReferenceCounts } from './references';
import { CONTENTS_MEMBERS, RecordKey, TopKey, TrackedState } from './tracked-state';

export { StorageError } from './durable-file';

/** The lock file of a data directory. */
/** Marks a data directory in this layout (and its version). */
const FORMAT_FILE = path.join('meta', 'format');
const FORMAT = '2';

/** A top-level record as it was before the change being made: restored if the change is not stored. */
interface Snapshot {
  readonly existed: boolean;
  /** The record object itself: restored in place, so that whoever holds it keeps the same object. */
  readonly object?: object;
  /** A copy of its content. */
  readonly copy?: object;
}

/** What the change in progress (since the last commit) did, to be stored or undone. */
interface Unit {
  readonly snapshots: Map<TopKey, Snapshot>;
  readonly dirty: Set<RecordKey>;
  /** Undoes each file the change created (run in reverse order on rollback). */
  readonly undo: Array<() => void>;
  /** Files to remove once the change is stored. */
  readonly removals: string[];
  /** Uploads whose running digest to forget once the change is stored. */
  readonly forgetHashes: string[];
  /** Uploads appended to: their size and running digest before the change. */
  readonly appended: Map<string, { readonly size: number; readonly hash: Hash }>;
}

function newUnit(): Unit {
  return { snapshots: new Map(), dirty: new Set(), undo: [], removals: [], forgetHashes: [], appended: new Map() };
}

export class Store {
  /**
   * Opens (or creates) the store; without `dataDir`, metadata lives in memory only. `now` (epoch seconds) is the last
   * touch given to uploads recorded before uploads had one. A data directory another live process uses is refused
   * ({@link DirectoryLockedError} naming it); one in the previous layout is migrated.
   */
  public static open(dataDir: string | undefined, now: number): Store {
    const root = dataDir ? path.resolve(dataDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'ecr-public-local-'));
    const lock = dataDir ? DirectoryLock.acquire(storeLockFile(root), `The emulator's data directory ${root}`) : undefined;
    try {
      for (const dir of ['blobs/sha256', 'manifests/sha256', 'uploads', 'logos', 'tmp']) {
        fs.mkdirSync(path.join(root, dir), { recursive: true });
      }
      // `tmp/` only holds request bodies being received: whatever is there belongs to a run that was killed.
      for (const name of fs.readdirSync(path.join(root, 'tmp'))) fs.rmSync(path.join(root, 'tmp', name), { recursive: true, force: true });
      return new Store(root, lock, now);
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  /** The live process using the data directory `dataDir`, if any: its PID, command and endpoint. */
  public static holder(dataDir: string): LockHolder | undefined {
    return storeHolder(dataDir);
  }

  /** The records. Read them, change them, then `commit()`. */
  public readonly state: State;
  private readonly raw: State;
  private readonly files?: RecordFiles;
  private readonly hashes = new Map<string, Hash>();
  private readonly references = new ReferenceCounts();
  private readonly expiry = new ExpiryQueue();
  private unit = newUnit();
  private transactions = 0;
  private guardScheduled = false;
  /** Set when a stored change could not be put fully in place: no further change is taken until a restart completes it. */
  private broken?: Error;

  private constructor(public readonly root: string, private readonly lock: DirectoryLock | undefined, now: number) {
    if (lock) {
      this.files = new RecordFiles(root);
      this.files.recover();
      this.raw = this.load(now);
    } else {
      this.raw = emptyState();
    }
    this.state = new TrackedState(this.raw, {
      beforeChange: (top) => this.beforeChange(top),
      changed: (record) => this.unit.dirty.add(record),
    }).state;
    for (const repo of Object.values(this.raw.repositories)) this.references.replace(new Set(), contentFilesOf(repo));
    this.removeUnreferencedFiles();
    this.recoverUploads();
  }

  /** Records the endpoint this emulator serves in the data directory's lock, for whoever finds it taken. */
  public setEndpoint(endpoint: string): void {
    this.lock?.setEndpoint(endpoint);
  }

  /**
   * Stores the changes made since the last commit. If they cannot be stored, they are undone, in memory and on disk,
   * and a {@link StorageError} is thrown.
   */
  public commit(): void {
    const unit = this.unit;
    if (unit.dirty.size === 0 && unit.snapshots.size === 0) {
      this.finish(unit);
      return;
    }
    if (this.broken) {
      this.rollback();
      throw new StorageError(`The emulator refuses changes until it is restarted: ${this.broken.message}`, this.broken);
    }
    let failure: StorageError | undefined;
    if (this.files) {
      // A repository's own record first: the others of a repository are read only with it (see RecordFiles.write).
      const keys = [...unit.dirty].sort((a, b) => Number(b.startsWith('repository/')) - Number(a.startsWith('repository/')));
      const changes: RecordChange[] = keys.map((key) => [key, recordContent(this.raw, key)]);
      try {
        this.files.write(changes);
      } catch (err) {
        if (!(err instanceof IncompleteChangeError)) {
          this.rollback();
          throw storageError('store the change', err);
        }
        // Stored (the journal holds it): keep it, and take no other change until a restart has put it in place.
        this.broken = err;
        failure = err;
      }
    }
    this.finish(unit);
    if (failure) throw failure;
  }

  /** Runs `fn` as one change: committed if it returns, undone if it throws. */
  public transaction<T>(fn: () => T): T {
    if (this.transactions > 0) return fn();
    this.transactions++;
    try {
      const result = fn();
      this.commit();
      return result;
    } catch (err) {
      this.rollback();
      throw err;
    } finally {
      this.transactions--;
    }
  }

  /** Undoes the changes made since the last commit, in memory and on disk. */
  public rollback(): void {
    const unit = this.unit;
    this.unit = newUnit();
    for (const [top, snapshot] of unit.snapshots) this.restore(top, snapshot);
    const undo = [...unit.undo.reverse()];
    // Then the uploads that still exist get their bytes and digest back (after a blob's file was moved back to them).
    for (const [id, before] of unit.appended) {
      if (!has(this.raw.uploads, id)) continue;
      undo.push(() => {
        this.hashes.set(id, before.hash);
        fs.truncateSync(this.uploadPath(id), before.size);
      });
    }
    for (const step of undo) {
      try {
        step();
      } catch (err) {
        // What is left (a file too long or too many) is cut back or removed at the next start.
        console.error(err);
      }
    }
  }

  /** Releases the data directory, or removes the temporary root of an in-memory store. */
  public close(): void {
    if (this.lock) this.lock.release();
    else fs.rmSync(this.root, { recursive: true, force: true });
  }

  public blobPath(digest: string): string {
    return path.join(this.root, 'blobs', ...digest.split(':'));
  }

  public manifestPath(digest: string): string {
    return path.join(this.root, 'manifests', ...digest.split(':'));
  }

  public logoPath(name: string): string {
    return path.join(this.root, 'logos', path.basename(name));
  }

  public readManifest(digest: string): Buffer {
    return fs.readFileSync(this.manifestPath(digest));
  }

  /** Stores a manifest's bytes (once per digest), flushed before any record refers to them. */
  public writeManifest(digest: string, bytes: Buffer): void {
    const target = this.manifestPath(digest);
    if (fs.existsSync(target)) return;
    this.createFile(target, bytes);
  }

  public writeLogo(name: string, bytes: Buffer): void {
    this.createFile(this.logoPath(name), bytes);
  }

  // --- layer uploads -------------------------------------------------------------------------------------------------

  public startUpload(uploadId: string): void {
    this.createFile(this.uploadPath(uploadId), Buffer.alloc(0));
    this.hashes.set(uploadId, createHash('sha256'));
    this.unit.undo.push(() => this.hashes.delete(uploadId));
  }

  /**
   * Appends a part at `offset`, flushed, and feeds the running sha256, so that completion never re-reads the blob. A
   * write the disk refuses leaves the upload as it was.
   */
  public appendPart(uploadId: string, offset: number, bytes: Buffer): void {
    const hash = this.beforeAppend(uploadId, offset).copy();
    this.writeAt(uploadId, offset, (fd) => {
      writeFully(fd, bytes, offset);
      hash.update(bytes);
    });
    this.hashes.set(uploadId, hash);
  }

  /**
   * Appends the content of `file` at `offset` (a request body received into `tempPath()` first, so that the upload
   * only changes once the whole body is in), flushed, feeding the running sha256. Returns the number of bytes appended.
   */
  public appendFile(uploadId: string, offset: number, file: string): number {
    const hash = this.beforeAppend(uploadId, offset).copy();
    let appended = 0;
    this.writeAt(uploadId, offset, (target) => {
      const source = fs.openSync(file, 'r');
      try {
        const chunk = Buffer.alloc(1024 * 1024);
        let n: number;
        while ((n = fs.readSync(source, chunk, 0, chunk.length, null)) > 0) {
          writeFully(target, chunk.subarray(0, n), offset + appended);
          hash.update(chunk.subarray(0, n));
          appended += n;
        }
      } finally {
        fs.closeSync(source);
      }
    });
    this.hashes.set(uploadId, hash);
    return appended;
  }

  /** A fresh file name under the store's `tmp/` directory (not created). */
  public tempPath(): string {
    return path.join(this.root, 'tmp', `body.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}`);
  }

  /** The sha256 of everything appended so far. */
  public uploadDigest(uploadId: string): string {
    return `sha256:${this.hash(uploadId).copy().digest('hex')}`;
  }

  /**
   * Moves a completed upload into the content-addressed blob store, after checking that its file holds every byte the
   * upload received (a blob stored short is never made available).
   */
  public commitUpload(uploadId: string, digest: string): void {
    const source = this.uploadPath(uploadId);
    const expected = has(this.raw.uploads, uploadId) ? this.raw.uploads[uploadId].received : undefined;
    const size = fs.statSync(source, { throwIfNoEntry: false })?.size;
    if (expected === undefined || size !== expected) {
      throw new StorageError(`The upload ${uploadId} holds ${size ?? 'no'} bytes on disk where ${expected} were received: it cannot be completed`);
    }
    const target = this.blobPath(digest);
    if (fs.existsSync(target)) {
      this.unit.removals.push(source);
    } else {
      try {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.renameSync(source, target);
        syncDirectory(path.dirname(target));
      } catch (err) {
        if (fs.existsSync(target) && !fs.existsSync(source)) fs.renameSync(target, source);
        throw storageError(`store the blob ${digest}`, err);
      }
      this.unit.undo.push(() => fs.renameSync(target, source));
      this.scheduleGuard();
    }
    this.unit.forgetHashes.push(uploadId);
  }

  /** Ends an upload's bytes: its file is removed once the change that ends it is stored. */
  public discardUpload(uploadId: string): void {
    this.unit.removals.push(this.uploadPath(uploadId));
    this.unit.forgetHashes.push(uploadId);
    this.scheduleGuard();
  }

  /**
   * The uploads untouched since `cutoff` (epoch seconds, inclusive), found without looking at the others. Each is
   * returned once; the caller ends it.
   */
  public uploadsUntouchedSince(cutoff: number): string[] {
    const ids = new Set<string>();
    for (const { at, id } of this.expiry.popDue(cutoff)) {
      if (has(this.raw.uploads, id) && this.raw.uploads[id].touchedAt === at) ids.add(id);
    }
    return [...ids];
  }

  private uploadPath(uploadId: string): string {
    return path.join(this.root, 'uploads', uploadId);
  }

  private hash(uploadId: string): Hash {
    const hash = this.hashes.get(uploadId);
    if (!hash) throw new Error(`no running digest for upload ${uploadId}`);
    return hash;
  }

  /** Keeps what an upload was before the first append of this change; returns its running digest. */
  private beforeAppend(uploadId: string, offset: number): Hash {
    const hash = this.hash(uploadId);
    if (!this.unit.appended.has(uploadId)) this.unit.appended.set(uploadId, { size: offset, hash: hash.copy() });
    this.scheduleGuard();
    return hash;
  }

  /** Writes into an upload's file with `write`, then flushes it; on failure, cuts the file back to `offset`. */
  private writeAt(uploadId: string, offset: number, write: (fd: number) => void): void {
    const fd = fs.openSync(this.uploadPath(uploadId), 'r+');
    try {
      write(fd);
      fs.fdatasyncSync(fd);
    } catch (err) {
      try {
        fs.ftruncateSync(fd, offset);
      } catch {
        // The record still says `offset`: the next append overwrites from there, and a restart cuts the file back.
      }
      throw storageError(`store the bytes of upload ${uploadId}`, err);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Creates a content file durably; the change's rollback removes it. */
  private createFile(target: string, bytes: Buffer): void {
    replaceFile(target, bytes);
    this.unit.undo.push(() => fs.rmSync(target, { force: true }));
    this.scheduleGuard();
  }

  // --- records -------------------------------------------------------------------------------------------------------

  /** Keeps a top-level record as it was, at its first change since the last commit. */
  private beforeChange(top: TopKey): void {
    const snapshots = this.unit.snapshots;
    if (snapshots.has(top)) return;
    const object = this.topRecord(top);
    snapshots.set(top, object ? { existed: true, object, copy: JSON.parse(JSON.stringify(object)) } : { existed: false });
    this.scheduleGuard();
  }

  /**
   * A change must be committed (or undone) in the synchronous step that made it: at the end of that step, whatever is
   * neither is undone, so that the records in memory never differ from those on disk while other requests run.
   */
  private scheduleGuard(): void {
    if (this.guardScheduled || this.transactions > 0) return;
    this.guardScheduled = true;
    process.nextTick(() => {
      this.guardScheduled = false;
      const unit = this.unit;
      if (unit.snapshots.size > 0 || unit.undo.length > 0 || unit.appended.size > 0) this.rollback();
      else if (unit.removals.length > 0) this.commit();
    });
  }

  private topRecord(top: TopKey): object | undefined {
    if (top === 'registry') return this.raw.registry;
    const [kind, key] = splitKey(top);
    const dictionary: Record<string, object> = kind === 'repository' ? this.raw.repositories : this.raw.uploads;
    return has(dictionary, key) ? dictionary[key] : undefined;
  }

  /** Puts a top-level record back as the snapshot kept it, in place. */
  private restore(top: TopKey, snapshot: Snapshot): void {
    if (top === 'registry') {
      replaceContent(this.raw.registry, snapshot.copy as RegistryRecord);
      return;
    }
    const [kind, key] = splitKey(top);
    const dictionary: Record<string, object> = kind === 'repository' ? this.raw.repositories : this.raw.uploads;
    if (!snapshot.existed) {
      delete dictionary[key];
      return;
    }
    const copy = kind === 'repository' ? reviveRepository(snapshot.copy as RepositoryRecord) : reviveUpload(snapshot.copy as UploadRecord, 0);
    replaceContent(snapshot.object!, copy);
    dictionary[key] = snapshot.object!;
    if (kind === 'upload') this.expiry.push((copy as UploadRecord).touchedAt, key);
  }

  /** A stored change: references counted, expiry times queued, files nothing refers to any more removed. */
  private finish(unit: Unit): void {
    this.unit = newUnit();
    const removals = [...unit.removals];
    for (const [top, snapshot] of unit.snapshots) {
      const [kind, key] = splitKey(top);
      if (kind === 'repository') {
        const before = snapshot.existed ? contentFilesOf(reviveRepository(snapshot.copy as RepositoryRecord)) : new Set<ContentKey>();
        const after = contentFilesOf(has(this.raw.repositories, key) ? this.raw.repositories[key] : undefined);
        for (const file of this.references.replace(before, after)) removals.push(this.contentPath(file));
      } else if (kind === 'upload' && has(this.raw.uploads, key)) {
        this.expiry.push(this.raw.uploads[key].touchedAt, key);
      }
    }
    for (const id of unit.forgetHashes) if (!has(this.raw.uploads, id)) this.hashes.delete(id);
    for (const file of removals) {
      try {
        fs.rmSync(file, { force: true });
      } catch (err) {
        // Left behind; the next start removes files nothing refers to.
        console.error(err);
      }
    }
  }

  private contentPath(key: ContentKey): string {
    const colon = key.indexOf(':');
    const kind = key.slice(0, colon);
    const name = key.slice(colon + 1);
    if (kind === 'blob') return this.blobPath(name);
    if (kind === 'manifest') return this.manifestPath(name);
    return this.logoPath(name);
  }

  /** The records on disk; a data directory of the previous layout is migrated first. */
  private load(now: number): State {
    const files = this.files!;
    const formatFile = path.join(this.root, FORMAT_FILE);
    if (fs.existsSync(path.join(this.root, LEGACY_DOCUMENT)) && !fs.existsSync(formatFile)) {
      const legacy = readLegacyState(this.root, now)!;
      // Written record by record, each durably; the format file last: a migration interrupted before it runs again.
      const keys = ['registry', ...Object.keys(legacy.repositories).flatMap((n) => [`repository/${n}`, `contents/${n}`]),
        ...Object.keys(legacy.uploads).map((id) => `upload/${id}`)];
      for (const key of keys) replaceFile(files.fileOf(key), Buffer.from(recordContent(legacy, key)!));
    }
    if (!fs.existsSync(formatFile)) replaceFile(formatFile, Buffer.from(`${FORMAT}\n`));
    const format = fs.readFileSync(formatFile, 'utf8').trim();
    if (format !== FORMAT) throw new Error(`The emulator's data directory ${this.root} has layout ${format}; this release reads layout ${FORMAT}`);
    removeLegacyFiles(this.root);

    const stored = files.readAll();
    const contents = new Map<string, any>();
    for (const c of stored.contents as any[]) contents.set(c.name, c);
    const repositories = dict<RepositoryRecord>();
    for (const r of stored.repositories as any[]) {
      const c = contents.get(r.name) ?? {};
      contents.delete(r.name);
      repositories[r.name] = reviveRepository({ ...r, blobs: c.blobs ?? {}, images: c.images ?? {}, imageTags: c.imageTags ?? {} });
    }
    // Left by a deletion interrupted after the repository's own record went: the rest of the deletion.
    for (const name of contents.keys()) removeFile(files.fileOf(`contents/${name}`));
    const uploads = dict<UploadRecord>();
    for (const u of stored.uploads as any[]) {
      if (has(repositories, u.repositoryName)) uploads[u.id] = reviveUpload(u, now);
      else removeFile(files.fileOf(`upload/${u.id}`));
    }
    return { version: 1, registry: { ...(stored.registry as RegistryRecord | undefined) }, repositories, uploads };
  }

  /** Removes blobs, manifests and logos nothing refers to (left by a kill between a change and its removals). */
  private removeUnreferencedFiles(): void {
    const folders: Array<[string, (name: string) => ContentKey]> = [
      [path.join(this.root, 'blobs', 'sha256'), (n) => `blob:sha256:${n}`],
      [path.join(this.root, 'manifests', 'sha256'), (n) => `manifest:sha256:${n}`],
      [path.join(this.root, 'logos'), (n) => `logo:${n}`],
    ];
    for (const [dir, keyOf] of folders) {
      for (const name of fs.readdirSync(dir)) {
        if (this.references.count(keyOf(name)) === 0) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
      }
    }
  }

  /**
   * After a restart, uploads in progress continue: the file is cut back to the bytes the records acknowledged (a crash
   * may have left a part written but not recorded) and its digest is rebuilt once.
   */
  private recoverUploads(): void {
    // A file no upload record names was left by a kill between writing it and recording the upload (or its end).
    for (const name of fs.readdirSync(path.join(this.root, 'uploads'))) {
      if (!has(this.raw.uploads, name)) fs.rmSync(this.uploadPath(name), { recursive: true, force: true });
    }
    for (const [id, upload] of Object.entries(this.raw.uploads)) {
      const file = this.uploadPath(id);
      if (!fs.existsSync(file) || fs.statSync(file).size < upload.received) {
        delete this.raw.uploads[id];
        if (this.files) removeFile(this.files.fileOf(`upload/${id}`));
        continue;
      }
      fs.truncateSync(file, upload.received);
      const hash = createHash('sha256');
      const fd = fs.openSync(file, 'r');
      try {
        const chunk = Buffer.alloc(1024 * 1024);
        let n: number;
        while ((n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0) hash.update(chunk.subarray(0, n));
      } finally {
        fs.closeSync(fd);
      }
      this.hashes.set(id, hash);
      this.expiry.push(upload.touchedAt, id);
    }
  }
}

/** `kind/key` split at the first slash (keys, such as repository names, may hold more). */
function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/** Makes `target` hold exactly the own members of `source`. */
function replaceContent(target: object, source: object): void {
  for (const key of Reflect.ownKeys(target)) Reflect.deleteProperty(target, key);
  for (const key of Reflect.ownKeys(source)) Reflect.set(target, key, Reflect.get(source, key));
}

/** A record file's content in `state`, or null when its record is not there. */
function recordContent(state: State, key: RecordKey): string | null {
  if (key === 'registry') return JSON.stringify(state.registry);
  const [kind, name] = splitKey(key);
  if (kind === 'upload') return has(state.uploads, name) ? JSON.stringify(state.uploads[name]) : null;
  if (!has(state.repositories, name)) return null;
  const contents = kind === 'contents';
  // The repository's own fields, or its contents, each with its name (the file name is a digest).
  const fields = Object.entries(state.repositories[name]).filter(([member]) => member === 'name' || CONTENTS_MEMBERS.has(member) === contents);
  return JSON.stringify(Object.fromEntries(fields));
}
