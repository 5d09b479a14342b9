/**
 * Which process serves a data directory: the live holder of the store's lock file. Apart from the store itself, so
 * that the local tools can ask (a deploy without an endpoint uses the emulator serving its data directory) without
 * loading the store's code.
 */
import * as path from 'path';
import { DirectoryLock, LockHolder } from './lock';

/** The store's lock file, in its data directory. */
const STORE_LOCK_FILE = 'emulator.lock';

/** The lock file of the store on `dataDir`. */
export function storeLockFile(dataDir: string): string {
  return path.join(path.resolve(dataDir), STORE_LOCK_FILE);
}

/** The live process serving the store on `dataDir`, if any. */
export function storeHolder(dataDir: string): LockHolder | undefined {
  return DirectoryLock.holder(storeLockFile(dataDir));
}
