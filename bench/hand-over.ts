/**
 * The cost of one hand-over of a publish to a new run of the function (`lambda/image-publisher/hand-over.ts`): the same
 * image is deployed twice into fresh data directories with the local deployer, once with a function timeout long
 * enough for one run, once with a timeout of a few seconds that makes it hand over; the difference in wall time,
 * divided by the hand-overs, is the per-invocation overhead (the guard's tag, the Invoke, the next run's start: the
 * repository described again, the availability checked again, a paused layer read and hashed again up to its offset).
 * The emulator adds `LATENCY_MS` to each call in both deploys, so that the short runs end before the image is done.
 *
 * A section of `npm run bench`; alone: `npx projen bundle && npx projen compile:local && npx ts-node --transpile-only
 * bench/hand-over.ts` (prints the section).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { deployApp, startEmulator } from '../local';
import { ImageSource, PublicImage, PublicRepository } from '../src';
import { buildImage } from '../test/support/umoci-images';

const LATENCY_MS = 50;
const LAYERS = 16;
const LAYER_BYTES = 4 * 1024 * 1024;

/** Measurements of the section: the pair of deploys is repeated, since one hand-over is within a deploy's noise. */
const REPEATS = 3;

/** One pair of deploys: the wall time of each, and the runs the short one took. */
interface Pair {
  readonly oneRun: number;
  readonly shortRuns: number;
  readonly runs: number;
}

/** The "Hand-over to a new run" section of BENCHMARKS.md, from `REPEATS` pairs of deploys. */
export async function handOverSection(): Promise<string> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-hand-over-'));
  const pairs: Pair[] = [];
  try {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < LAYERS; i++) files[`/data/${i}.bin`] = randomBytes(LAYER_BYTES);
    const image = await buildImage(path.join(tmp, 'layout'), { tag: 'v1', layers: LAYERS, files });
    for (let i = 0; i < REPEATS; i++) {
      const emulator = await startEmulator({ iam: {}, faults: { latencyMs: LATENCY_MS } });
      try {
        const once = await deployOnce(tmp, `one-run-${i}`, image.layoutDir, Duration.minutes(15), emulator.endpoint);
        const many = await deployOnce(tmp, `short-runs-${i}`, image.layoutDir, Duration.seconds(3), emulator.endpoint);
        pairs.push({ oneRun: once.seconds, shortRuns: many.seconds, runs: many.runs });
      } finally {
        await emulator.stop();
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const s = (x: number) => `${x.toFixed(2)} s`;
  const perHandOver = pairs.map((p) => (p.runs > 1 ? s((p.shortRuns - p.oneRun) / (p.runs - 1)) : 'no hand-over'));
  return `## Hand-over to a new run

What one hand-over of a publish to a new run of the function costs (the guard's tag, the Invoke, the next run's start:
the repository described and the blobs checked again, a paused layer read and hashed again up to its offset): the same
image deployed with the local deployer into a fresh emulator with one run and with runs of 3 s, ${REPEATS} times; the
difference divided by the hand-overs (\`bench/hand-over.ts\`).

| image | emulator latency per call | one run | runs of 3 s (runs) | per hand-over |
|---|---|---|---|---|
| ${LAYERS} layers of ${LAYER_BYTES / 1024 / 1024} MiB | ${LATENCY_MS} ms | ${pairs.map((p) => s(p.oneRun)).join(', ')} | ${pairs.map((p) => `${s(p.shortRuns)} (${p.runs})`).join(', ')} | ${perHandOver.join(', ')} |

A hand-over costs what a few calls and the re-read of a paused layer cost: within the run-to-run noise of these
deploys, and nothing beside runs of minutes on Lambda (a function of 15 minutes keeps 2 for its answer and hands over
after 13).
`;
}

async function deployOnce(tmp: string, name: string, layoutDir: string, timeout: Duration, endpoint: string): Promise<{ seconds: number; runs: number }> {
  const app = new App({ outdir: path.join(tmp, `out-${name}`) });
  const stack = new Stack(app, 'HandOverBench');
  const repository = new PublicRepository(stack, 'Repo', { repositoryName: `bench/${name}`, removalPolicy: RemovalPolicy.DESTROY, emptyOnDelete: true });
  new PublicImage(stack, 'Image', { repository, source: ImageSource.fromOciLayout(layoutDir, { ref: 'v1' }), timeout, concurrency: 2 });
  app.synth();
  const lines: string[] = [];
  const started = process.hrtime.bigint();
  await deployApp({ assemblyDir: app.outdir, dataDir: path.join(tmp, `data-${name}`), endpoint, verbose: true, log: (l) => lines.push(l) });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, runs: lines.filter((l) => l.includes('"run":')).length };
}

if (require.main === module) {
  handOverSection().then((md) => console.log(md), (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
