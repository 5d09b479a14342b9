/**
 * The hostile-load rows of `npm run bench`: the emulator as users run it (`ecr-public-local serve`, a process of its
 * own) under request bodies made to hurt it, with its resident memory read from /proc (`VmHWM`, the kernel's own
 * peak). Also runnable alone: `npx ts-node --transpile-only bench/hostile.ts` prints the section.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { residentMemory, rawRequest, SIGV4_AUTHORIZATION } from '../test/reliability/emulator-process';
import { ensureCompiledEmulator, killEmulator, serveEmulator, ServedEmulator } from '../test/support/emulator-harness';

const MB = 1000 * 1000;

interface Flood {
  readonly name: string;
  readonly operation: string;
  readonly bodies: () => Buffer[];
}

/** What each flood sends at once. */
const FLOODS: Flood[] = [
  {
    name: 'two 26.7 MiB bodies of nested arrays (`[[[[...`)',
    operation: 'DescribeRepositories',
    bodies: () => [Buffer.alloc(28_000_000, '['), Buffer.alloc(28_000_000, '[')],
  },
  {
    name: 'one body of a million one-character strings',
    operation: 'DescribeRepositories',
    bodies: () => [Buffer.from(`{"repositoryNames":[${'"a",'.repeat(1_000_000)}"a"]}`)],
  },
  {
    name: 'a 26 MB repository name to CreateRepository (the model allows 205 characters)',
    operation: 'CreateRepository',
    bodies: () => [Buffer.from(`{"repositoryName":"${'a'.repeat(26_000_000)}"}`)],
  },
];

interface FloodResult {
  readonly name: string;
  readonly before: number;
  readonly peak: number;
  readonly seconds: number;
  readonly statuses: number[];
}

async function flood(served: ServedEmulator, f: Flood): Promise<FloodResult> {
  const before = residentMemory(served.child.pid!).peak;
  const started = process.hrtime.bigint();
  const answers = await Promise.all(f.bodies().map((body) => rawRequest(served.port, 'POST', '/', {
    'X-Amz-Target': `SpencerFrontendService.${f.operation}`,
    'Content-Type': 'application/x-amz-json-1.1',
    'Authorization': SIGV4_AUTHORIZATION,
  }, body)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { name: f.name, before, peak: residentMemory(served.child.pid!).peak, seconds, statuses: answers.map((a) => a.status) };
}

/** Runs each flood against a fresh emulator process and returns the Markdown section. */
export async function hostileSection(): Promise<string> {
  await ensureCompiledEmulator();
  const rows: string[] = [];
  for (const f of FLOODS) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-hostile-'));
    const served = await serveEmulator(path.join(dir, 'data'));
    try {
      const r = await flood(served, f);
      const ok = r.statuses.every((s) => s === 400) && r.peak < 400 * MB;
      rows.push(`| ${r.name} | ${r.statuses.join(', ')} | ${(r.before / MB).toFixed(0)} MB | ${(r.peak / MB).toFixed(0)} MB | ${r.seconds.toFixed(2)} s | ${ok ? 'met' : 'MISSED'} |`);
    } finally {
      await killEmulator(served);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return `## Hostile request bodies

The emulator as \`ecr-public-local serve\` runs it, one fresh process per row; the bodies of a row are sent at once.
Peak resident memory is the kernel's \`VmHWM\` before and after. Target: every body answered 400
(\`SerializationException\`, \`InvalidParameterException\`) with the peak under 400 MB.

| bodies | answers | peak RSS before | peak RSS after | wall | target |
|---|---|---|---|---|---|
${rows.join('\n')}

The bodies are held (within the 64 MiB budget, taken as their bytes arrive), then refused by one pass over their bytes
before \`JSON.parse\` builds anything (nesting over 16, more than 20,000 values), or by the model's length bound
compared before a string's characters are counted.
`;
}

if (require.main === module) {
  hostileSection().then((md) => console.log(md), (err) => {
    console.error(err);
    process.exit(1);
  });
}
