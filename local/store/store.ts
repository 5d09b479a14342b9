/**
 * Where the emulator keeps its state. Metadata is one JSON document, in memory and, with a data directory, written to
 * disk atomically after every change (temporary file, then rename): a killed emulator restarts from the last complete
 * document. There is no fsync: the emulator guards against its own crashes, not the machine's, and an fsync per
 * 10 MiB part would make it the slowest part of every benchmark. Blobs, manifests, uploads and logos are files
 * under a root directory: the data directory, or a temporary one removed at stop. So are long catalog texts: the
 * document refers to them by digest, so that a registry of hundreds of repositories with 25,600-character texts does
 * not rewrite megabytes of text at every change.
 */
import { createHash, Hash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sha256Digest, SHA256_DIGEST } from './image-format';
import { emptyState, has, reviveState, State } from './model';

/** The catalog texts kept in files of their own when longer than `TEXT_INLINE_LIMIT` characters. */
const EXTERNAL_TEXT_KEYS = new Set(['aboutText', 'usageText']);
const TEXT_INLINE_LIMIT = 4096;
/** How the document refers to such a text: `{"$textRef": "sha256:<hex>"}`; no client-chosen name can start with `$`. */
const TEXT_REF = '$textRef';

export class Store {
  /**
   * Opens (or creates) the store; without `dataDir`, metadata lives in memory only. `now` (epoch seconds) is the last
   * touch given to uploads recorded before uploads had one.
   */
  public static open(dataDir: string | undefined, now: number): Store {
    const root = dataDir ? path.resolve(dataDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'ecr-public-local-'));
    for (const dir of ['blobs/sha256', 'manifests/sha256', 'uploads', 'logos', 'texts/sha256', 'tmp']) {
      fs.mkdirSync(path.join(root, dir), { recursive: true });
    }
    // `tmp/` only holds request bodies being received and documents being written: whatever is there belongs to a
    // run that was killed, and nothing refers to it.
    for (const name of fs.readdirSync(path.join(root, 'tmp'))) fs.rmSync(path.join(root, 'tmp', name), { recursive: true, force: true });
    return new Store(root, dataDir !== undefined, now);
  }

  public readonly state: State;
  private readonly hashes = new Map<string, Hash>();
  /** Long texts already in `texts/`, to their digests: each is hashed and written once. */
  private readonly storedTexts = new Map<string, string>();

  private constructor(public readonly root: string, private readonly persistent: boolean, now: number) {
    const statePath = path.join(root, 'state.json');
    this.state = persistent && fs.existsSync(statePath)
      ? reviveState(JSON.parse(fs.readFileSync(statePath, 'utf8'), (key, value) => this.internalText(key, value)), now)
      : emptyState();
    this.recoverUploads();
  }

  /** Persists the metadata after a change. */
  public commit(): void {
    if (!this.persistent) return;
    const document = JSON.stringify(this.state, (key, value) => this.externalText(key, value));
    this.writeAtomically(path.join(this.root, 'state.json'), Buffer.from(document));
  }

  /** A long catalog text becomes a reference to its file, written (once, atomically) before the document refers to it. */
  private externalText(key: string, value: unknown): unknown {
    if (!EXTERNAL_TEXT_KEYS.has(key) || typeof value !== 'string' || value.length <= TEXT_INLINE_LIMIT) return value;
    let digest = this.storedTexts.get(value);
    if (digest === undefined) {
      digest = sha256Digest(value);
      const file = this.textPath(digest);
      if (!fs.existsSync(file)) this.writeAtomically(file, Buffer.from(value, 'utf8'));
      this.storedTexts.set(value, digest);
    }
    return { [TEXT_REF]: digest };
  }

  /** The reverse of `externalText`, when the document is read. */
  private internalText(key: string, value: unknown): unknown {
    if (!EXTERNAL_TEXT_KEYS.has(key) || typeof value !== 'object' || value === null) return value;
    const digest = (value as Record<string, unknown>)[TEXT_REF];
    if (typeof digest !== 'string' || !SHA256_DIGEST.test(digest)) return value;
    const text = fs.readFileSync(this.textPath(digest), 'utf8');
    this.storedTexts.set(text, digest);
    return text;
  }

  private textPath(digest: string): string {
    return path.join(this.root, 'texts', ...digest.split(':'));
  }

  /** Removes the temporary root of an in-memory store. */
  public close(): void {
    if (!this.persistent) fs.rmSync(this.root, { recursive: true, force: true });
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

  public writeManifest(digest: string, bytes: Buffer): void {
    const target = this.manifestPath(digest);
    if (!fs.existsSync(target)) this.writeAtomically(target, bytes);
  }

  public writeLogo(name: string, bytes: Buffer): void {
    this.writeAtomically(this.logoPath(name), bytes);
  }

  // --- layer uploads -------------------------------------------------------------------------------------------------

  public startUpload(uploadId: string): void {
    fs.writeFileSync(this.uploadPath(uploadId), Buffer.alloc(0));
    this.hashes.set(uploadId, createHash('sha256'));
  }

  /** Appends a part at `offset` and feeds the running sha256, so that completion never re-reads the blob. */
  public appendPart(uploadId: string, offset: number, bytes: Buffer): void {
    const fd = fs.openSync(this.uploadPath(uploadId), 'r+');
    try {
      fs.writeSync(fd, bytes, 0, bytes.length, offset);
    } finally {
      fs.closeSync(fd);
    }
    this.hash(uploadId).update(bytes);
  }

  /**
   * Appends the content of `file` at `offset` (a request body received into `tempPath()` first, so that the upload
   * only changes once the whole body is in), feeding the running sha256. Returns the number of bytes appended.
   */
  public appendFile(uploadId: string, offset: number, file: string): number {
    const hash = this.hash(uploadId);
    const source = fs.openSync(file, 'r');
    const target = fs.openSync(this.uploadPath(uploadId), 'r+');
    let appended = 0;
    try {
      const chunk = Buffer.alloc(1024 * 1024);
      let n: number;
      while ((n = fs.readSync(source, chunk, 0, chunk.length, null)) > 0) {
        fs.writeSync(target, chunk, 0, n, offset + appended);
        hash.update(chunk.subarray(0, n));
        appended += n;
      }
    } finally {
      fs.closeSync(source);
      fs.closeSync(target);
    }
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

  /** Moves a completed upload into the content-addressed blob store. */
  public commitUpload(uploadId: string, digest: string): void {
    const target = this.blobPath(digest);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (fs.existsSync(target)) {
      fs.rmSync(this.uploadPath(uploadId), { force: true });
    } else {
      fs.renameSync(this.uploadPath(uploadId), target);
    }
    this.hashes.delete(uploadId);
  }

  public discardUpload(uploadId: string): void {
    fs.rmSync(this.uploadPath(uploadId), { force: true });
    this.hashes.delete(uploadId);
  }

  /** Deletes blob files that no repository references any more. */
  public collectGarbage(): void {
    const live = new Set<string>();
    for (const repo of Object.values(this.state.repositories)) {
      for (const digest of Object.keys(repo.blobs)) live.add(this.blobPath(digest));
    }
    const dir = path.join(this.root, 'blobs', 'sha256');
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      if (!live.has(file)) fs.rmSync(file, { force: true });
    }
  }

  private uploadPath(uploadId: string): string {
    return path.join(this.root, 'uploads', uploadId);
  }

  private hash(uploadId: string): Hash {
    const hash = this.hashes.get(uploadId);
    if (!hash) throw new Error(`no running digest for upload ${uploadId}`);
    return hash;
  }

  /**
   * After a restart, uploads in progress continue: the file is cut back to the bytes the metadata acknowledged (a crash
   * may have left a part written but not recorded) and its digest is rebuilt once.
   */
  private recoverUploads(): void {
    // A file no upload record names was left by a kill between writing it and recording the upload (or its end).
    for (const name of fs.readdirSync(path.join(this.root, 'uploads'))) {
      if (!has(this.state.uploads, name)) fs.rmSync(this.uploadPath(name), { recursive: true, force: true });
    }
    for (const [id, upload] of Object.entries(this.state.uploads)) {
      const file = this.uploadPath(id);
      if (!fs.existsSync(file) || fs.statSync(file).size < upload.received) {
        delete this.state.uploads[id];
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
    }
  }

  private writeAtomically(target: string, bytes: Buffer): void {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = path.join(this.root, 'tmp', `${path.basename(target)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}`);
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, bytes);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  }
}
