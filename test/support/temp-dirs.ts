/** Temporary directories of tests: the one helper that makes them and removes them. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Directories made and not yet removed: whatever a test file leaves is removed when it ends. */
const made = new Set<string>();

// Registered when a test file imports this module (the bench imports it outside jest, and removes its own).
const jestAfterAll = (globalThis as { afterAll?: (fn: () => void) => void }).afterAll;
jestAfterAll?.(() => {
  for (const dir of made) {
    try {
      removeTempDir(dir);
    } catch (err) {
      // Still in use by the test file's own tear-down (a file system mounted on it, unmounted by a later hook): that
      // hook removes it. Any other failure is the test's to see.
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
    }
  }
});

/** A fresh directory under os.tmpdir(); removed by `removeTempDir`, or when the test file ends. */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/**
 * `makeTempDir` with a lowercase name (hexadecimal where mkdtemp puts letters of both cases): for tools that make an
 * image name of a path, as buildah does of `FROM oci:<path>:<tag>`.
 */
export function makeLowercaseTempDir(prefix: string): string {
  const dir = path.join(os.tmpdir(), `${prefix}${randomBytes(6).toString('hex')}`);
  fs.mkdirSync(dir);
  made.add(dir);
  return dir;
}

/** Removes a directory made by `makeTempDir` (nothing when it was never made). */
export function removeTempDir(dir: string | undefined): void {
  if (!dir) return;
  fs.rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}
