/**
 * The report of `npm run bench` (BENCHMARKS.md), one function per section, from the figures `run.ts` measured.
 */
import * as os from 'os';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export const fmt = (n: number, d = 2) => n.toFixed(d);
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');

/** A command measured under GNU time. */
export interface Measured { wall: number; cpu: number; rssMb: number; stdout: string }

/** A publish of ours, measured. */
export interface OursResult extends Measured {
  /** The handler's own summary (bytes uploaded, ...). */
  readonly summary: Record<string, number>;
  /** CPU the emulator spent meanwhile. */
  readonly emulatorCpu: number;
  /** The physical id the handler answered with (a publish through the harness). @default - none (a deploy) */
  readonly physicalId?: string;
}

/** What the report says of a case: its name, how it is published and its target. */
export interface CaseTargets {
  readonly name: string;
  /** gzip uncompressed layers at deploy. */
  readonly compress: boolean;
  /** Target of the `deploy` command's wall time / skopeo's (whole commands). @default - none: the row is informational */
  readonly ratioTarget?: number;
}

/** The publisher on one core, as in a Lambda function of 1,769 MB, beside skopeo on one core. */
export interface OneCoreResult {
  /** The bench harness on core 0, into an emulator on core 1. */
  readonly harness: OursResult;
  /** skopeo on core 0, into docker-registry on core 1. */
  readonly skopeo: Measured;
  /** CPU docker-registry spent during skopeo's copy. */
  readonly registryCpu: number;
  /** Whether the processes were confined (two cores and `taskset`); otherwise the same publishes ran unconfined. */
  readonly confined: boolean;
}

/** The figures of one case. */
export interface Row {
  readonly c: CaseTargets;
  readonly bytes: number;
  readonly harness: OursResult;
  readonly harnessAgain: OursResult;
  readonly deploy: OursResult;
  readonly deployAgain: Measured;
  readonly skopeo: Measured;
  readonly skopeoEmulator?: Measured;
  readonly harnessUncompressed?: OursResult;
  readonly deployUncompressed?: OursResult;
  readonly oneCore?: OneCoreResult;
  /** One profiled deploy per deploy path of the row that missed its wall target. */
  readonly profiles: DeployProfile[];
}

/** A CPU profile summarised: seconds of self time, the largest first. */
export interface ProfileSummary {
  /** Seconds sampled. */
  readonly total: number;
  /** Seconds idle (waiting for I/O: the other side, the disk). */
  readonly idle: number;
  /** Per function, as `name (file)`. */
  readonly top: Array<[string, number]>;
  /** Per file (ours, Node.js's) or package (dependencies). */
  readonly byFile: Array<[string, number]>;
  /** Per kind: idle, loading modules, our code, dependencies, Node.js internals, garbage collector, ... */
  readonly byKind: Array<[string, number]>;
  /** The time inside require(), per package loaded (or per file of ours requiring it). */
  readonly loading: Array<[string, number]>;
  /** The time of our code with the Node.js calls it makes, per file of ours (the innermost on the stack). */
  readonly ours: Array<[string, number]>;
}

/** One deploy profiled on both sides. */
export interface DeployProfile { readonly label: string; readonly wall: number; readonly deploy: ProfileSummary; readonly emulator: ProfileSummary }

/** A deploy that publishes nothing, profiled. */
export interface NoOpProfile { readonly label: string; readonly wall: number; readonly profile: ProfileSummary }

/** The emulator's UploadLayerPart ingest rate. */
export interface IngestRate { readonly mbPerCpuSecond: number; readonly mbPerSecond: number }

/** The targets of the performance issue. */
const NO_OP_SECONDS = 0.25;
const RSS_MB = 200;
const ONE_CORE_CPU_RATIO = 1.2;
/** Lambda gives a function CPU in proportion to its memory: 1,769 MB is one full vCPU. */
const LAMBDA_ONE_VCPU_MB = 1769;
const LAMBDA_MEMORY_SIZES = [512, 1024, 1769, 3008, 10240];

/** A way the `deploy` command published a row's image. */
export interface DeployPath { readonly label: string; readonly result: OursResult; readonly compress: boolean }

/** The `deploy` command's publishes of a row: as the case says, and without compression when the case asks for both. */
export function deployPaths(r: Pick<Row, 'c' | 'deploy' | 'deployUncompressed'>): DeployPath[] {
  const both = r.deployUncompressed !== undefined;
  const paths: DeployPath[] = [{ label: both ? '`deploy` command, `compressLayers: true`' : '`deploy` command', result: r.deploy, compress: r.c.compress }];
  if (r.deployUncompressed) paths.push({ label: '`deploy` command, `compressLayers: false`', result: r.deployUncompressed, compress: false });
  return paths;
}

/** Whether a deploy path of a row missed its wall target against skopeo (false when the row has none). */
export function wallTargetMissed(r: Pick<Row, 'c' | 'skopeo'>, p: DeployPath): boolean {
  return r.c.ratioTarget !== undefined && p.result.wall / r.skopeo.wall > r.c.ratioTarget;
}

/** BENCHMARKS.md (but the sections other files write). */
export function report(rows: Row[], ingest: IngestRate, noOp: NoOpProfile, synthRows: string[]): string {
  return [
    header(), targetsSection(rows), publishingSection(rows), republishingSection(rows), noOpSection(noOp), oneCoreSection(rows),
    emulatorSection(ingest), profileSection(rows), READING, synthSection(synthRows),
  ].join('');
}

function header(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `# Benchmarks

Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, in one run: ${os.cpus().length} cores (${cpu}), shared with
other work (load average ${os.loadavg().map((l) => fmt(l, 1)).join(', ')} at the end), ${fmt(os.totalmem() / GiB, 0)} GiB, Node ${process.version}.
Wall and CPU times of a shared 2-core machine are noisy: compare the figures of one run with each other, not across runs.

Everything runs on loopback. Each tool runs as the whole command a user would run, start-up included, measured by GNU
time (wall, user + system CPU with its child processes, peak RSS):
- **bench harness**: our bundled handler (\`assets/image-publisher/index.js\`) in a Node.js process of its own, reading the
  staged archive from the emulator's S3 bucket, as in Lambda;
- **\`deploy\` command**: \`ecr-public-local deploy <cdk.out> --endpoint <emulator>\` of an app with the repository and the
  image, as users run it (the handler in-process, the assets served by the deployer's child process);
- **skopeo → docker-registry**: \`skopeo copy\` of the same image (OCI layout or docker-save archive) into Debian's
  docker-registry (the anchor); skopeo → our emulator's registry push API is the same copy into the server our publisher
  talks to;
- **on one core**: the bench harness confined to core 0 with \`taskset\` (a Lambda function of 1,769 MB has one vCPU),
  publishing into an emulator of its own confined to core 1; beside it skopeo on core 0 into a docker-registry on core 1.
Our publisher must send every byte as base64 inside JSON, in parts of 10 MiB, one after the other (the ECR Public API has
no binary upload); skopeo streams raw bytes to a registry. The emulator and docker-registry run in processes of their
own; "emulator CPU" is what the emulator spent during our publish.

`;
}

/** The targets of the performance issue, each met or missed in this run. */
function targetsSection(rows: Row[]): string {
  const lines: string[] = [];
  const again = rows.map((r) => r.deployAgain.wall);
  lines.push(`- A deploy that publishes nothing (the \`deploy\` command again, nothing changed), whole command, ≤ ${NO_OP_SECONDS} s on every row: `
    + `${again.map((w) => fmt(w)).join(', ')} s (slowest ${fmt(Math.max(...again))} s): ${verdict(Math.max(...again) <= NO_OP_SECONDS)}`);
  for (const r of rows) {
    for (const p of deployPaths(r)) {
      const ratio = p.result.wall / r.skopeo.wall;
      const wall = r.c.ratioTarget === undefined
        ? `ours/skopeo ${fmt(ratio)} (no wall target)`
        : `ours/skopeo ${fmt(ratio)} (target ≤ ${r.c.ratioTarget}: ${verdict(!wallTargetMissed(r, p))})`;
      lines.push(`- ${r.c.name}, ${p.label}: ${wall}; peak RSS ${fmt(p.result.rssMb, 0)} MB (target ≤ ${RSS_MB} MB: ${verdict(p.result.rssMb <= RSS_MB)})`);
    }
  }
  for (const r of rows) {
    if (!r.oneCore) continue;
    const { harness, skopeo, confined } = r.oneCore;
    const ratio = harness.cpu / skopeo.cpu;
    lines.push(`- ${r.c.name}, ${confined ? 'on one core' : 'NOT confined (fewer than 2 cores or no taskset)'}: the publisher's CPU per GiB `
      + `${fmt(perGiB(harness.cpu, r.bytes), 1)} s, ${fmt(ratio)}× skopeo's ${fmt(perGiB(skopeo.cpu, r.bytes), 1)} s (target ≤ ${ONE_CORE_CPU_RATIO}: ${verdict(ratio <= ONE_CORE_CPU_RATIO)})`);
  }
  return `## Targets

${lines.join('\n')}

`;
}

const perGiB = (cpu: number, bytes: number) => cpu / (bytes / GiB);

function publishingSection(rows: Row[]): string {
  return `## Publishing

| image | size | path | wall | CPU | CPU per GiB | peak RSS | emulator CPU | skopeo → docker-registry | ours / skopeo, wall | ours / skopeo, CPU |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.flatMap(publishingRows).join('\n')}

The ratios of the bench harness are for information: the targets are the \`deploy\` command's (above).

`;
}

/** The rows of one case in the publishing table: each path of ours, against skopeo. */
function publishingRows(r: Row): string[] {
  const { c, bytes, skopeo } = r;
  const size = `${fmt(bytes / MiB, 1)} MiB`;
  const skopeoCell = `${fmt(skopeo.wall)} s, ${fmt(skopeo.cpu)} s CPU`;
  const line = (path: string, m: OursResult) => `| ${c.name} | ${size} | ${path} | ${fmt(m.wall)} s | ${fmt(m.cpu)} s | ${fmt(perGiB(m.cpu, bytes), 1)} s | ${fmt(m.rssMb, 0)} MB | ${fmt(m.emulatorCpu)} s | ${skopeoCell} | **${fmt(m.wall / skopeo.wall)}** | ${fmt(m.cpu / skopeo.cpu)} |`;
  const rows = [line(r.harnessUncompressed ? 'bench harness, `compressLayers: true`' : 'bench harness', r.harness)];
  if (r.harnessUncompressed) rows.push(line('bench harness, `compressLayers: false`', r.harnessUncompressed));
  rows.push(...deployPaths(r).map((p) => line(p.label, p.result)));
  if (r.skopeoEmulator) rows.push(`| ${c.name} | ${size} | skopeo → our emulator's registry push API | ${fmt(r.skopeoEmulator.wall)} s | ${fmt(r.skopeoEmulator.cpu)} s | ${fmt(perGiB(r.skopeoEmulator.cpu, bytes), 1)} s | ${fmt(r.skopeoEmulator.rssMb, 0)} MB | | ${skopeoCell} | ${fmt(r.skopeoEmulator.wall / skopeo.wall)} | ${fmt(r.skopeoEmulator.cpu / skopeo.cpu)} |`);
  return rows;
}

function republishingSection(rows: Row[]): string {
  const republish = rows.map((r) => {
    const again = r.harnessAgain;
    return `| ${r.c.name} | ${again.summary.bytesUploaded} B in ${fmt(again.wall)} s (handler ${fmt(again.summary.seconds ?? NaN)} s) | ${fmt(r.deployAgain.wall)} s | ${verdict(r.deployAgain.wall <= NO_OP_SECONDS)} |`;
  });
  return `## Re-publishing an unchanged image

| image | bench harness (the handler run again, as an Update) | \`deploy\` again (nothing changed: no handler runs) | target: \`deploy\` again ≤ ${NO_OP_SECONDS} s |
|---|---|---|---|
${republish.join('\n')}

`;
}

const seconds = (pairs: Array<[string, number]>, indent: string) => pairs.map(([name, s]) => `${indent}- ${fmt(s)} s ${name.replace(/\|/g, '\\|')}`).join('\n');
const share = (part: number, whole: number) => `${fmt((100 * part) / whole, 0)} %`;
const kinds = (p: ProfileSummary) => p.byKind.map(([kind, s]) => `${kind} ${fmt(s)} s`).join(', ');
/** The no-op deploy's figures are tens of milliseconds: in milliseconds, those of at least one. */
const millis = (pairs: Array<[string, number]>, indent: string) => pairs.filter(([, s]) => s >= 0.0005)
  .map(([name, s]) => `${indent}- ${fmt(s * 1000, 0)} ms ${name.replace(/\|/g, '\\|')}`).join('\n');
const kindsInMs = (p: ProfileSummary) => p.byKind.filter(([, s]) => s >= 0.0005).map(([kind, s]) => `${kind} ${fmt(s * 1000, 0)} ms`).join(', ');

function noOpSection(noOp: NoOpProfile): string {
  const p = noOp.profile;
  return `## Where a deploy that publishes nothing spends its time

\`node --cpu-prof\` of the \`deploy\` command run a third time on the app of ${noOp.label} (nothing changed; ${fmt(noOp.wall)} s whole
command, of which the profile samples ${fmt(p.total)} s: it starts after Node.js itself has started, and ends before it exits).
"Loading modules" is every sample inside a \`require()\` (reading, compiling and running the top level of a module) but
the CLI's own entry; outside a \`require()\`, a sample counts for the innermost code on its stack that is ours or a
dependency's, so that Node.js's work on its behalf (hashing, reading and writing files, spawning) counts as theirs.
- by kind: ${kindsInMs(p)}
- loading modules, per package loaded (the first dependency on the stack; for our own files, the file of ours whose
  \`require()\` it is):
${millis(p.loading, '  ')}
- our code with the Node.js calls it makes, per file of ours (the innermost on the stack):
${millis(p.ours, '  ')}
- self time per file (ours, Node.js's) or package (dependencies):
${millis(p.byFile, '  ')}
- self time per function:
${millis(p.top, '  ')}

`;
}

function oneCoreSection(rows: Row[]): string {
  const measuredRows = rows.filter((r) => r.oneCore);
  if (measuredRows.length === 0) return '';
  const confined = measuredRows.every((r) => r.oneCore!.confined);
  const lines = measuredRows.flatMap((r) => {
    const { harness, skopeo, registryCpu } = r.oneCore!;
    const size = `${fmt(r.bytes / MiB, 1)} MiB`;
    const rate = (m: Measured) => fmt(r.bytes / 1e6 / m.wall, 0);
    return [
      `| ${r.c.name} | ${size} | bench harness → emulator | ${fmt(harness.wall)} s | ${fmt(harness.cpu)} s | ${fmt(perGiB(harness.cpu, r.bytes), 1)} s | ${fmt(harness.rssMb, 0)} MB | ${fmt(harness.emulatorCpu)} s | ${rate(harness)} MB/s |`,
      `| ${r.c.name} | ${size} | skopeo → docker-registry | ${fmt(skopeo.wall)} s | ${fmt(skopeo.cpu)} s | ${fmt(perGiB(skopeo.cpu, r.bytes), 1)} s | ${fmt(skopeo.rssMb, 0)} MB | ${fmt(registryCpu)} s | ${rate(skopeo)} MB/s |`,
    ];
  });
  // The expected throughput on Lambda, from the largest image measured on one core.
  const base = measuredRows.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const oneCoreRate = base.bytes / 1e6 / base.oneCore!.harness.wall;
  const lambdaRows = LAMBDA_MEMORY_SIZES.map((memory) => {
    const vcpu = Math.min(1, memory / LAMBDA_ONE_VCPU_MB);
    const rate = vcpu * oneCoreRate;
    return `| ${memory.toLocaleString('en-US')} MB | ${fmt(memory / LAMBDA_ONE_VCPU_MB, 2)} | ${fmt(rate, 0)} MB/s | ${fmt((rate * 900) / 1000, 0)} GB |`;
  });
  return `## On one core, as on Lambda

${confined
    ? 'The publisher and skopeo each confined to core 0 (`taskset -c 0`), the emulator and docker-registry each to core 1 (`taskset -a -pc 1`).'
    : '**Not confined**: this machine has fewer than 2 cores or no `taskset`, so these rows ran like the others, on any core.'}
"server CPU" is what the emulator or docker-registry spent meanwhile; the rate is layer bytes per second of wall time.

| image | size | path | wall | CPU | CPU per GiB | peak RSS | server CPU | rate |
|---|---|---|---|---|---|---|---|---|
${lines.join('\n')}

### Throughput to expect per Lambda memory size

Lambda gives a function CPU in proportion to its memory (1,769 MB is one vCPU). The publisher is single-threaded but
for zlib on Node's thread pool (which layers already compressed do not use), so below 1,769 MB expect that share of the
one-core rate measured above (${base.c.name}: ${fmt(oneCoreRate, 0)} MB/s of wall time, start-up included), and above it
the one-core rate; less where the network to ECR Public, not the CPU, is the limit, and less for layers gzipped at
deploy, whose compression comes on top. In GB per run of the function's longest timeout, 15 minutes.

| memory | vCPU (memory / 1,769 MB) | layer bytes per second | per 15-minute run |
|---|---|---|---|
${lambdaRows.join('\n')}

`;
}

function emulatorSection(ingest: IngestRate): string {
  return `## The emulator alone

UploadLayerPart of a 256 MiB layer in 10 MiB parts, strictly in order, from bodies encoded before the clock starts:
**${fmt(ingest.mbPerCpuSecond, 0)} MB/s of layer bytes per second of the emulator's CPU** (an earlier round's target, ≥ 400
on one core: ${verdict(ingest.mbPerCpuSecond >= 400)}; the emulator runs on the other core, beside the publisher); ${fmt(ingest.mbPerSecond, 0)} MB/s of wall time, client included.

`;
}

function profileSection(rows: Row[]): string {
  const profiles = rows.flatMap((r) => r.profiles);
  const side = (name: string, p: ProfileSummary) => `- ${name}: ${fmt(p.total)} s sampled, ${fmt(p.idle)} s of it idle (${share(p.idle, p.total)}); self time per function:
${seconds(p.top, '  ')}
  - by kind: ${kinds(p)}`;
  const body = profiles.length === 0 ? 'Every row of the `deploy` command met its wall target: no profile.\n' : profiles.map((p) => `### ${p.label} (the profiled deploy: ${fmt(p.wall)} s)

${side('the `deploy` process', p.deploy)}
${side('the emulator (from its start to its stop)', p.emulator)}
`).join('\n');
  return `## Where the time goes: the rows that miss their target

For each row of the \`deploy\` command that missed its wall target, one more deploy of the same image, profiled with
\`node --cpu-prof\` on both sides: into an emulator of its own (a fresh data directory) and a fresh deployer state, so
that it publishes everything again. Idle is time spent waiting (for the other side, the disk, a timer); the kinds are
those of the profile of a deploy that publishes nothing (above).

${body}
`;
}

/** Why the figures are what they are: measured once, by hand, and kept with the report. */
const READING = `## Reading the figures

- **Why a compressed layer takes longer than skopeo.** For each byte of layer, our publisher hashes 2.33 bytes
  (the layer's sha256, and SigV4's sha256 of a JSON body in which the bytes are base64, 4/3 as large), encodes it to
  base64 and sends 1.33 bytes; the emulator then decodes, hashes and writes it. skopeo hashes each byte once and sends
  it raw. The ECR Public API takes the parts of a layer strictly one after the other: our publisher builds the next
  part's body (base64 and both hashes straight from the source's chunks, into one of the request bodies all the
  blobs share) while one is in flight, so client and emulator work at the same time, each on its core.
- **The emulator flushes every part before it answers.** The part's bytes are written and flushed (fdatasync), and the
  upload's record written durably, before UploadLayerPart is acknowledged (the store's rule: local/README.md,
  "Persistence and faults"); docker-registry, which skopeo sends a blob in one stream, flushes each blob once. The
  profiles above show it as \`fdatasync\` and \`fsync\`.
- **The \`deploy\` command** adds its own start-up to the handler's: it reads the cloud assembly's manifests itself (not
  with aws-cdk-lib's cx-api), loads neither aws-cdk-lib nor the emulator's code, checks a handler's code against its
  asset hash with its own reading of the CDK's fingerprint, and starts the asset server (a child process, on a socket
  the deployer binds and hands over) only when a handler first runs. What is left of a small image's deploy is mostly
  the loading of the two handler bundles it runs (each a megabyte of JavaScript with its copy of the SDK: "loading
  modules" in the profiles) and the calls of the ECR Public API, each of which the emulator stores durably.
- **docker-save layers** are compressed once (into the function's \`/tmp\` when they fit, several at a time, then
  uploaded from there): the compression and the upload do not overlap, which is most of the difference with
  \`compressLayers: true\`. Each MiB is judged on samples: a MiB that does not compress (the random half of these
  layers) is written as deflate stored blocks, a copy; the rest is deflated at level 6 on Node's thread pool. skopeo's
  compressor also stores incompressible blocks, and compresses on several cores.
- **Peak RSS.** Each process pays for Node.js itself and for the bundled publisher with its copy of the SDK. The
  request bodies of the parts (14 MB each for 10 MiB parts) are shared by all the blobs being uploaded: two outside
  Lambda, which keeps a registry on the loopback busy (in Lambda, one per blob in flight and one more, as far as the
  function's memory allows). The rest is garbage waiting for the collector, mostly the 64 KiB buffers of the HTTP
  client's socket reads of the source. The \`deploy\` command holds, in the same process, the deployer and every
  handler bundle it ran, and its asset bucket in a child process of its own.
- **Re-publishing** asks BatchCheckLayerAvailability once per 100 blobs and uploads nothing; the wall time is mostly the
  start-up of a Node.js process and the loading of the bundled handler. The \`deploy\` command run again runs no
  handler: it finds every resource unchanged in its state, and its time is its own (see where a deploy that publishes
  nothing spends its time, above). Layers compressed at deploy have no digest
  known before they are compressed: the handler reads the manifest the tag points at back through the repository's
  registry API, and when it is this image compressed (byte for byte) with its layers in the repository, it compresses
  nothing.
- **The emulator alone** spends its CPU on the part's sha256, receiving and joining the body, decoding the base64 (in
  small slices from the body's bytes: no 14 MB string per part), and the write of each part to its upload file with
  its flush. In this run the ingest is measured after every other case, with the emulator holding their images.

`;

function synthSection(synthRows: string[]): string {
  return `## Synth

Median of 3 runs of \`app.synth()\` for one stack with N repositories, ours against \`CfnPublicRepository\`.

| repositories | ours | Lambda functions | CfnPublicRepository | Lambda functions | ratio |
|---|---|---|---|---|---|
${synthRows.join('\n')}

The number of functions stays the same however many repositories (one per handler kind).
`;
}
