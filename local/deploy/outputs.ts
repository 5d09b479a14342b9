/**
 * A deployed stack's outputs, as `cdk deploy` shows them: resolved once the stack's resources are deployed, printed as
 * `<stack>.<output> = <value>`, and written with `--outputs-file FILE` as `{ "<stack>": { "<output>": "<value>" } }`.
 * The exported ones are also recorded for `Fn::ImportValue` in later stacks.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { AssemblyStack } from './assembly';
import { Resolver, UnresolvableError } from './intrinsics';

export interface StackOutputs {
  /** Output name to value; output names are the app's, so the map has no prototype. */
  readonly values: Record<string, string>;
  /** Export name to value, for the exported outputs. */
  readonly exports: Map<string, string>;
  /** The outputs that refer to what the deployer does not deploy, with why. */
  readonly unresolved: Array<{ readonly name: string; readonly why: string }>;
}

/** Resolves the stack's outputs whose condition holds. */
export function resolveOutputs(stack: AssemblyStack, resolver: Resolver): StackOutputs {
  const values: Record<string, string> = Object.create(null);
  const exports = new Map<string, string>();
  const unresolved: Array<{ name: string; why: string }> = [];
  for (const [name, output] of Object.entries(stack.template.Outputs ?? {})) {
    try {
      if (output.Condition !== undefined && !resolver.condition(output.Condition, `output '${name}'`)) continue;
      const resolved = resolver.resolve(output.Value, `output '${name}'`);
      const value = typeof resolved === 'string' ? resolved : JSON.stringify(resolved);
      values[name] = value;
      if (output.Export?.Name === undefined) continue;
      const exportName = resolver.resolve(output.Export.Name, `output '${name}'`);
      if (typeof exportName === 'string') exports.set(exportName, value);
    } catch (err) {
      if (!(err instanceof UnresolvableError)) throw err;
      unresolved.push({ name, why: err.message });
    }
  }
  return { values, exports, unresolved };
}

/** The lines `deploy` prints for a stack's outputs (none when it has none). */
export function outputLines(stackName: string, outputs: StackOutputs): string[] {
  const names = Object.keys(outputs.values);
  if (names.length === 0 && outputs.unresolved.length === 0) return [];
  return [
    'Outputs:',
    ...names.map((name) => `${stackName}.${name} = ${outputs.values[name]}`),
    ...outputs.unresolved.map((u) => `${stackName}.${u.name}: not known locally (${u.why})`),
  ];
}

/** Writes `{ stack: { output: value } }` to `file` (a new file each time, so that a reader never sees half of one). */
export function writeOutputsFile(file: string, outputs: ReadonlyMap<string, Record<string, string>>): void {
  const json: Record<string, Record<string, string>> = Object.create(null);
  for (const [stackName, values] of outputs) json[stackName] = values;
  const target = path.resolve(file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temporary = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(json, null, 2)}\n`);
  fs.renameSync(temporary, target);
}
