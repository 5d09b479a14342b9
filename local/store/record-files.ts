/**
 * The metadata on disk: one small JSON file per record under `meta/` (the registry, each repository, each
 * repository's contents, each upload), named by the sha256 of its key so that any name is a valid file name. A change
 * rewrites only the records it touched, so its cost does not grow with the number of repositories.
 *
 * A change of one record is one atomic replace (`replaceFile`); a change that only removes records removes them one by
 * one, a repository's own record first (a start drops the contents and uploads of a repository that has no record, so
 * an interrupted deletion is a deletion). Any other change of several records (creating the first repository assigns
 * the registry's alias) is made atomic by a redo journal: every new record is first written to a temporary file and
 * flushed, then `meta/journal.json` (all the changes, with their sha256) is written: that is the commit point. The
 * temporary files are then renamed into place and the journal removed. A start that finds a journal applies it again;
 * a journal that does not check out was never committed.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { removeFile, replaceFile, StorageError, storageError, syncDirectory, writeTemporary } from './durable-file';
import { RecordKey } from './tracked-state';

/** A record's new content, or null when it is removed. */
export type RecordChange = readonly [RecordKey, string | null];

/** The record kinds and their folders under `meta/`. */
const FOLDERS: Readonly<Record<string, string>> = { registry: '.', repository: 'repositories', contents: 'contents', upload: 'uploads' };
const JOURNAL = 'journal.json';

/** A failure after the commit point: the change is made (a start completes it), but its records are not all in place yet. */
export class IncompleteChangeError extends StorageError {}

export class RecordFiles {
  public readonly dir: string;

  constructor(root: string) {
    this.dir = path.join(root, 'meta');
    for (const folder of Object.values(FOLDERS)) fs.mkdirSync(path.join(this.dir, folder), { recursive: true });
  }

  /** The file of a record: `meta/<folder>/<sha256 of the key>.json` (`meta/registry.json` for the registry). */
  public fileOf(key: RecordKey): string {
    const slash = key.indexOf('/');
    const kind = slash < 0 ? key : key.slice(0, slash);
    const folder = FOLDERS[kind];
    if (folder === undefined) throw new Error(`unknown record kind in '${key}'`);
    if (kind === 'registry') return path.join(this.dir, 'registry.json');
    return path.join(this.dir, folder, `${createHash('sha256').update(key.slice(slash + 1)).digest('hex')}.json`);
  }

  /** Finishes a change interrupted after its commit point, and removes what an interrupted write left behind. */
  public recover(): void {
    const journal = path.join(this.dir, JOURNAL);
    if (fs.existsSync(journal)) {
      const changes = readJournal(fs.readFileSync(journal, 'utf8'));
      if (changes) this.apply(changes);
      removeFile(journal);
    }
    for (const folder of new Set(Object.values(FOLDERS))) {
      const dir = path.join(this.dir, folder);
      for (const name of fs.readdirSync(dir)) {
        if (name.startsWith('.') && name.endsWith('.tmp')) fs.rmSync(path.join(dir, name), { force: true });
      }
    }
  }

  /** Every record's content, by kind. */
  public readAll(): { registry?: unknown; repositories: unknown[]; contents: unknown[]; uploads: unknown[] } {
    const read = (file: string): unknown => {
      try {
        return JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        throw new Error(`The emulator's store record ${file} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    const all = (folder: string) => fs.readdirSync(path.join(this.dir, folder))
      .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
      .map((n) => read(path.join(this.dir, folder, n)));
    const registryFile = path.join(this.dir, 'registry.json');
    return {
      registry: fs.existsSync(registryFile) ? read(registryFile) : undefined,
      repositories: all(FOLDERS.repository),
      contents: all(FOLDERS.contents),
      uploads: all(FOLDERS.upload),
    };
  }

  /**
   * Stores `changes` durably and atomically. A {@link StorageError} thrown before the commit point leaves every record
   * as it was; an {@link IncompleteChangeError} means the change is stored and will be completed at the next start.
   */
  public write(changes: readonly RecordChange[]): void {
    if (changes.length === 0) return;
    if (changes.length === 1 || changes.every(([, content]) => content === null)) {
      // One record, or removals only: in the order given (a repository's own record first: a start drops the records
      // of a repository that has none), each durable, and without a journal, so that deleting works on a full disk.
      // Once the first is done, the change is made: the next start finishes what a failure left.
      this.apply(changes.slice(0, 1));
      try {
        this.apply(changes.slice(1));
      } catch (err) {
        throw new IncompleteChangeError('The emulator stored a deletion but could not remove all its records '
          + `(${err instanceof Error ? err.message : String(err)}); it completes it at its next start`, err);
      }
      return;
    }
    const prepared: Array<{ file: string; tmp?: string }> = [];
    const journal = path.join(this.dir, JOURNAL);
    try {
      for (const [key, content] of changes) {
        const file = this.fileOf(key);
        prepared.push({ file, tmp: content === null ? undefined : writeTemporary(file, Buffer.from(content)) });
      }
      replaceFile(journal, Buffer.from(journalText(changes)));
    } catch (err) {
      for (const p of prepared) if (p.tmp) fs.rmSync(p.tmp, { force: true });
      fs.rmSync(journal, { force: true });
      throw storageError('store the change', err);
    }
    try {
      for (const p of prepared) {
        if (p.tmp) fs.renameSync(p.tmp, p.file);
        else fs.rmSync(p.file, { force: true });
      }
      for (const dir of new Set(prepared.map((p) => path.dirname(p.file)))) syncDirectory(dir);
      removeFile(journal);
    } catch (err) {
      throw new IncompleteChangeError('The emulator stored a change but could not put all its records in place '
        + `(${err instanceof Error ? err.message : String(err)}); it completes it at its next start`, err);
    }
  }

  /** Applies a journal's changes, each durably. */
  private apply(changes: readonly RecordChange[]): void {
    for (const [key, content] of changes) {
      if (content === null) removeFile(this.fileOf(key));
      else replaceFile(this.fileOf(key), Buffer.from(content));
    }
  }
}

function journalText(changes: readonly RecordChange[]): string {
  const body = JSON.stringify(changes);
  return JSON.stringify({ sha256: createHash('sha256').update(body).digest('hex'), changes: body });
}

/** The changes a journal holds, or undefined when it does not check out (it was never committed). */
function readJournal(text: string): RecordChange[] | undefined {
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed.changes !== 'string' || createHash('sha256').update(parsed.changes).digest('hex') !== parsed.sha256) return undefined;
    return JSON.parse(parsed.changes);
  } catch {
    return undefined;
  }
}
