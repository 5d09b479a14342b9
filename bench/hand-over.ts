/**
 * The cost of one hand-over of a publish to a new run of the function (`lambda/image-publisher/hand-over.ts`): the same
 * image is deployed twice into fresh data directories with the local deployer, once with a function timeout long
 * enough for one run, once with a timeout of a few seconds that makes it hand over; the difference in wall time,
 * divided by the hand-overs, is the per-invocation overhead (the guard's tag, the Invoke, the next run's start: the
 * repository described again, the availability checked again, a paused layer read and hashed again up to its offset).
 * The emulator adds `LATENCY_MS` to each call in both deploys, so that the short runs end before the image is done.
 *
 * Run: `npx projen bundle && npx projen compile:local && npx ts-node --transpile-only bench/hand-over.ts`. Not part of
 * `npm run bench` yet; BENCHMARKS.md gives three runs of it.
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

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-hand-over-'));
  try {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < LAYERS; i++) files[`/data/${i}.bin`] = randomBytes(LAYER_BYTES);
    const image = await buildImage(path.join(tmp, 'layout'), { tag: 'v1', layers: LAYERS, files });
    const emulator = await startEmulator({ iam: {}, faults: { latencyMs: LATENCY_MS } });
    try {
      const once = await deployOnce(tmp, 'one-run', image.layoutDir, Duration.minutes(15), emulator.endpoint);
      const many = await deployOnce(tmp, 'many-runs', image.layoutDir, Duration.seconds(3), emulator.endpoint);
      const handOvers = many.runs - 1;
      console.log(JSON.stringify({
        image: `${LAYERS} layers of ${LAYER_BYTES / 1024 / 1024} MiB`,
        latencyMs: LATENCY_MS,
        oneRun: { seconds: once.seconds, runs: once.runs },
        shortRuns: { seconds: many.seconds, runs: many.runs },
        perHandOverSeconds: handOvers > 0 ? (many.seconds - once.seconds) / handOvers : undefined,
      }));
    } finally {
      await emulator.stop();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
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

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
