/**
 * What the deployer checks before it copies or runs a handler's code asset (a directory of the cloud assembly):
 * every symbolic link in it resolves inside the assembly, and its contents hash to the asset's id, which is how the
 * CDK names a source-hashed directory asset (`FileSystem.fingerprint`, the same function the CDK staged it with, or
 * our own reading of it, source-fingerprint.ts, when that matches). A
 * changed, added or removed file, or a link leading out of the assembly, is refused before any of its code is loaded.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { FileAsset } from './assembly';
import { inside } from './assembly';
import { sourceFingerprint } from './source-fingerprint';

/** Each asset is checked once per reading of the assembly: the problem found, or '' when it passed. */
const checked = new WeakMap<FileAsset, string>();

/** Why the directory asset cannot be run, or undefined when it can. */
export function codeAssetProblem(assemblyDir: string, asset: FileAsset): string | undefined {
  let problem = checked.get(asset);
  if (problem === undefined) {
    problem = linkOutside(assemblyDir, asset.sourcePath) ?? hashMismatch(asset) ?? '';
    checked.set(asset, problem);
  }
  return problem === '' ? undefined : problem;
}

/** The first symbolic link under `dir` that leads outside `assemblyDir` (or nowhere), described. */
function linkOutside(assemblyDir: string, dir: string, seen: Set<string> = new Set()): string | undefined {
  // A link back to a directory already walked would loop.
  const real = fs.realpathSync(dir);
  if (seen.has(real)) return undefined;
  seen.add(real);
  const walk = (rel: string): string | undefined => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const relName = rel ? `${rel}/${name}` : name;
      const full = path.join(dir, relName);
      const stat = fs.lstatSync(full);
      if (stat.isSymbolicLink()) {
        if (!inside(assemblyDir, full)) {
          return `'${relName}' is a symbolic link to '${fs.readlinkSync(full)}', which is not inside the cloud assembly`;
        }
        // A link inside the assembly: its target is what the asset holds (and what the copy gets).
        if (fs.statSync(full).isDirectory()) {
          const found = linkOutside(assemblyDir, fs.realpathSync(full), seen);
          if (found) return `in '${relName}': ${found}`;
        }
      } else if (stat.isDirectory()) {
        const found = walk(relName);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk('');
}

function hashMismatch(asset: FileAsset): string | undefined {
  // Our own reading of the CDK's hash first (source-fingerprint.ts): a match is proof; anything else, the CDK decides.
  if (sourceFingerprint(asset.sourcePath) === asset.id) return undefined;
  // Loaded only then: aws-cdk-lib is most of what a deploy would otherwise load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { FileSystem } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const actual = FileSystem.fingerprint(asset.sourcePath);
  if (actual === asset.id) return undefined;
  return `its contents hash to ${actual}, not to its asset hash ${asset.id}: it changed after it was synthesized `
    + '(synthesize the app again), or its hash is not a source hash, which the local deployer cannot check and does not run';
}
