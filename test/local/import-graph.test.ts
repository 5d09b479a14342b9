/**
 * The emulator's import graph, as ARCHITECTURE.md draws it: thin front doors (the awsJson `api/`, the OCI
 * `distribution/` API, `s3/`, `gallery/`) over the service core (`service/`), over the store (`store/`). A front door
 * imports the core, the store, IAM (`iam/`, asked at the door, as AWS's own front end does) and the shared modules
 * only, never another front door; the core imports no front door (IAM it may); the store and IAM import nothing of the
 * emulator but themselves (and the store the one dictionary helper).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const LOCAL = path.join(__dirname, '..', '..', 'local');
const FRONT_DOORS = ['api', 'distribution', 's3', 'gallery', 'control'];
/** Top-level modules any part of the emulator may use: HTTP plumbing, the clock, fault injection, quotas, dictionaries. */
const SHARED = ['http.ts', 'clock.ts', 'faults.ts', 'rate-quotas.ts', 'dictionary.ts'];

/** Every relative import of every file under `local/`, as paths relative to `local/`. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {walk(full);} else if (entry.name.endsWith('.ts')) {
        const imports = ts.preProcessFile(fs.readFileSync(full, 'utf8')).importedFiles
          .map((f) => f.fileName)
          .filter((name) => name.startsWith('.'))
          .map((name) => path.relative(LOCAL, path.resolve(path.dirname(full), name)));
        graph.set(path.relative(LOCAL, full), imports);
      }
    }
  };
  walk(LOCAL);
  return graph;
}

/** The part of the emulator a path (relative to `local/`) belongs to: its top folder, or the file itself. */
function partOf(relative: string): string {
  const [top, ...rest] = relative.split(path.sep);
  return rest.length > 0 ? top : (top.endsWith('.ts') ? top : `${top}.ts`);
}

function violations(allowed: (from: string, to: string) => boolean): string[] {
  const found: string[] = [];
  for (const [file, imports] of importGraph()) {
    for (const target of imports) {
      if (!allowed(partOf(file), partOf(target))) found.push(`${file} -> ${target}`);
    }
  }
  return found;
}

test('the graph is read: every front door imports the service core', () => {
  const graph = importGraph();
  for (const door of FRONT_DOORS.filter((d) => d !== 's3' && d !== 'control')) {
    const imports = [...graph].filter(([file]) => partOf(file) === door).flatMap(([, targets]) => targets.map(partOf));
    expect(imports).toContain('service');
  }
});

test('a front door imports the core, the store, IAM and the shared modules only: never another front door', () => {
  expect(violations((from, to) => !FRONT_DOORS.includes(from)
    || to === from || to === 'service' || to === 'store' || to === 'iam' || SHARED.includes(to))).toEqual([]);
});

test('IAM imports nothing of the emulator but itself', () => {
  expect(violations((from, to) => from !== 'iam' || to === 'iam')).toEqual([]);
});

test('the service core imports no front door, and nothing above it (IAM, which imports nothing, it may: it gives IAM the facts)', () => {
  expect(violations((from, to) => from !== 'service'
    || to === 'service' || to === 'store' || to === 'iam' || SHARED.includes(to))).toEqual([]);
});

test('the store imports nothing of the emulator but itself and the one dictionary', () => {
  expect(violations((from, to) => from !== 'store' || to === 'store' || to === 'dictionary.ts')).toEqual([]);
});

test('the emulator imports neither the constructs nor the handlers', () => {
  const outside = [...importGraph()].flatMap(([file, imports]) => imports
    .filter((target) => target.startsWith('..'))
    .map((target) => `${file} -> ${target}`));
  expect(outside).toEqual([]);
});
