/**
 * The file assets a deploy served to the handlers, kept beside the deployment state (`deployments/file-assets/`), and
 * served again by later runs: CloudFormation's bootstrap bucket keeps every version of an asset, so a rollback's Update
 * back finds the assets its previous properties name (an about text, a logo of the app before) after the cloud
 * assembly has changed. Each is kept once (a hard link, or a copy across file systems), in a directory named by the
 * hash of its bucket and key (which come from the assembly: never a path), holding the object and where it is served.
 * Kept assets that no state refers to any longer (by key) are removed with the unused handler code.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { AssetServer } from './asset-server';
import type { ServedObject } from './asset-server-process';
import { parseJsonData } from './json-data';

/** Where objects are served: the part of an asset server this file uses. */
type ObjectSink = Pick<AssetServer, 'addObject'>;

const KEPT_DIR = 'file-assets';
const OBJECT = 'object';
const LOCATION = 'location.json';

/** Keeps a copy of each of `served` under `stateDir`, and serves every kept asset that `served` does not. */
export async function keepAndServeEarlierAssets(assets: ObjectSink, stateDir: string, served: readonly ServedObject[]): Promise<void> {
  const root = path.join(stateDir, KEPT_DIR);
  const current = new Set<string>();
  for (const object of served) {
    const dir = path.join(root, entryName(object.bucket, object.key));
    current.add(dir);
    if (!fs.existsSync(path.join(dir, LOCATION))) keep(dir, object);
  }
  if (!fs.existsSync(root)) return;
  for (const name of fs.readdirSync(root).sort()) {
    const dir = path.join(root, name);
    if (current.has(dir) || !fs.existsSync(path.join(dir, LOCATION))) continue;
    const { bucket, key } = parseJsonData(fs.readFileSync(path.join(dir, LOCATION), 'utf8')) as { bucket: string; key: string };
    await assets.addObject(bucket, key, path.join(dir, OBJECT));
  }
}

/** Removes the kept assets whose key none of `stateTexts` (the state files' contents) mentions. */
export function collectKeptAssets(stateDir: string, stateTexts: readonly string[]): void {
  const root = path.join(stateDir, KEPT_DIR);
  if (!fs.existsSync(root)) return;
  for (const name of fs.readdirSync(root)) {
    const dir = path.join(root, name);
    const location = path.join(dir, LOCATION);
    const key = fs.existsSync(location) ? (parseJsonData(fs.readFileSync(location, 'utf8')) as { key: string }).key : undefined;
    if (key === undefined || !stateTexts.some((text) => text.includes(JSON.stringify(key)))) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function entryName(bucket: string, key: string): string {
  return createHash('sha256').update(`${bucket}\n${key}`).digest('hex');
}

/** Writes the entry in a temporary directory renamed into place: a kept asset is whole or absent. */
function keep(dir: string, object: ServedObject): void {
  const tmp = `${dir}.${process.pid}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    fs.linkSync(object.file, path.join(tmp, OBJECT));
  } catch {
    fs.copyFileSync(object.file, path.join(tmp, OBJECT));
  }
  fs.writeFileSync(path.join(tmp, LOCATION), JSON.stringify({ bucket: object.bucket, key: object.key }));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
}
