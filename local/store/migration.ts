/**
 * The store of earlier releases: one JSON document, `state.json`, rewritten whole at every change, with catalog texts
 * longer than 4,096 characters in content-addressed files of their own (`texts/sha256/<hex>`, referred to as
 * `{"$textRef": "sha256:<hex>"}`). A data directory in that layout is read once here, at the first start of this
 * release, and written again record by record (see `record-files.ts`).
 */
import * as fs from 'fs';
import * as path from 'path';
import { SHA256_DIGEST } from './image-format';
import { reviveState, State } from './model';

/** The document of the previous layout. */
export const LEGACY_DOCUMENT = 'state.json';
/** Its folder of long catalog texts. */
export const LEGACY_TEXTS = 'texts';
const TEXT_KEYS = new Set(['aboutText', 'usageText']);
const TEXT_REF = '$textRef';

/** The state a previous layout's document holds, its long texts read back in; undefined when there is none. */
export function readLegacyState(root: string, now: number): State | undefined {
  const file = path.join(root, LEGACY_DOCUMENT);
  if (!fs.existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'), (key, value) => {
      if (!TEXT_KEYS.has(key) || typeof value !== 'object' || value === null) return value;
      const digest = (value as Record<string, unknown>)[TEXT_REF];
      if (typeof digest !== 'string' || !SHA256_DIGEST.test(digest)) return value;
      return fs.readFileSync(path.join(root, LEGACY_TEXTS, ...digest.split(':')), 'utf8');
    });
  } catch (err) {
    throw new Error(`The emulator's store ${file} (the previous layout) cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  return reviveState(parsed, now);
}

/** Removes the previous layout's files, once its state is stored in the new one. */
export function removeLegacyFiles(root: string): void {
  fs.rmSync(path.join(root, LEGACY_TEXTS), { recursive: true, force: true });
  fs.rmSync(path.join(root, LEGACY_DOCUMENT), { force: true });
}
