/**
 * The report of `npm run bench` (BENCHMARKS.md), one function per section, from the figures `run.ts` measured.
 */
import * as os from 'os';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
/** The vCPU share of a Lambda function of 1024 MB (1769 MB is one full vCPU). */
const LAMBDA_1024_VCPU = 1024 / 1769;

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

/** What the report says of a case: its name and its targets. */
export interface CaseTargets {
  readonly name: string;
  /** Target of ours / skopeo (wall of the whole command). */
  readonly ratioTarget: number;
  /** Whether the CPU and memory targets apply (the single-layer rows). */
  readonly cpuTarget?: boolean;
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
}

/** Self time per function of a CPU profile. */
export interface ProfileTop { readonly total: number; readonly idle: number; readonly top: Array<[string, number]> }

/** The emulator's UploadLayerPart ingest rate. */
export interface IngestRate { readonly mbPerCpuSecond: number; readonly mbPerSecond: number }

/** The profiles of one deploy, on both sides. */
export interface Profiles { readonly deploy: ProfileTop; readonly emulator: ProfileTop; readonly wall: number }

/** BENCHMARKS.md (but its scale section, which `scale.ts` writes). */
export function report(rows: Row[], ingest: IngestRate, profiles: Profiles, synthRows: string[]): string {
  return [
    header(), publishingSection(rows), republishingSection(rows), emulatorSection(ingest), profileSection(profiles),
    READING, lambdaSection(rows), synthSection(synthRows),
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
  talks to.
Our publisher must send every byte as base64 inside JSON, in parts of 10 MiB, one after the other (the ECR Public API has
no binary upload); skopeo streams raw bytes to a registry. The emulator and docker-registry run in processes of their
own; "emulator CPU" is what the emulator spent during our publish.

`;
}

const perGiB = (cpu: number, bytes: number) => cpu / (bytes / GiB);

function publishingSection(rows: Row[]): string {
  const publishRows: string[] = [];
  const targets: string[] = [];
  for (const r of rows) {
    publishRows.push(...publishingRows(r));
    targets.push(...targetLines(r));
  }
  return `## Publishing

| image | size | path | wall | CPU | CPU per GiB | peak RSS | emulator CPU | skopeo → docker-registry | ours / skopeo, wall | ours / skopeo, CPU |
|---|---|---|---|---|---|---|---|---|---|---|
${publishRows.join('\n')}

Targets:
${targets.join('\n')}

`;
}

/** The rows of one case in the publishing table: each path of ours, against skopeo. */
function publishingRows(r: Row): string[] {
  const { c, bytes, skopeo } = r;
  const size = `${fmt(bytes / MiB, 1)} MiB`;
  const skopeoCell = `${fmt(skopeo.wall)} s, ${fmt(skopeo.cpu)} s CPU`;
  const line = (path: string, m: OursResult) => `| ${c.name} | ${size} | ${path} | ${fmt(m.wall)} s | ${fmt(m.cpu)} s | ${fmt(perGiB(m.cpu, bytes), 1)} s | ${fmt(m.rssMb, 0)} MB | ${fmt(m.emulatorCpu)} s | ${skopeoCell} | **${fmt(m.wall / skopeo.wall)}** | ${fmt(m.cpu / skopeo.cpu)} |`;
  const rows = [line('bench harness', r.harness), line('`deploy` command', r.deploy)];
  if (r.harnessUncompressed) rows.push(line('bench harness, `compressLayers: false`', r.harnessUncompressed));
  if (r.skopeoEmulator) rows.push(`| ${c.name} | ${size} | skopeo → our emulator's registry push API | ${fmt(r.skopeoEmulator.wall)} s | ${fmt(r.skopeoEmulator.cpu)} s | ${fmt(perGiB(r.skopeoEmulator.cpu, bytes), 1)} s | ${fmt(r.skopeoEmulator.rssMb, 0)} MB | | ${skopeoCell} | ${fmt(r.skopeoEmulator.wall / skopeo.wall)} | ${fmt(r.skopeoEmulator.cpu / skopeo.cpu)} |`);
  return rows;
}

/** Whether one case met its targets, per path of ours. */
function targetLines(r: Row): string[] {
  const { c, skopeo } = r;
  const lines: string[] = [];
  for (const [path, m] of [['bench harness', r.harness], ['`deploy` command', r.deploy]] as const) {
    const ratio = m.wall / skopeo.wall;
    const parts = [`ours/skopeo ${fmt(ratio)} (target ≤ ${c.ratioTarget}: ${verdict(ratio <= c.ratioTarget)})`];
    if (c.cpuTarget) {
      const cpuRatio = m.cpu / skopeo.cpu;
      parts.push(`CPU ${fmt(cpuRatio)}× skopeo's (target ≤ 1.5: ${verdict(cpuRatio <= 1.5)})`);
      parts.push(`peak RSS ${fmt(m.rssMb, 0)} MB (target ≤ 200 MB: ${verdict(m.rssMb <= 200)})`);
    }
    lines.push(`- ${c.name}, ${path}: ${parts.join('; ')}`);
  }
  if (r.harnessUncompressed) {
    lines.push(`- ${c.name}, without compression (ours with \`compressLayers: false\`; skopeo always compresses for a registry): ours/skopeo ${fmt(r.harnessUncompressed.wall / skopeo.wall)}`);
  }
  return lines;
}

function republishingSection(rows: Row[]): string {
  const republish = rows.map((r) => {
    const again = r.harnessAgain;
    const ok = again.summary.bytesUploaded === 0 && again.wall < 1;
    return `| ${r.c.name} | ${again.summary.bytesUploaded} B in ${fmt(again.wall)} s (handler ${fmt(again.summary.seconds ?? NaN)} s) | ${fmt(r.deployAgain.wall)} s | ${verdict(ok)} |`;
  });
  return `## Re-publishing an unchanged image

| image | bench harness (the handler run again) | \`deploy\` again (nothing changed: no handler runs) | target: 0 bytes in < 1 s |
|---|---|---|---|
${republish.join('\n')}

`;
}

function emulatorSection(ingest: IngestRate): string {
  return `## The emulator alone

UploadLayerPart of a 256 MiB layer in 10 MiB parts, strictly in order, from bodies encoded before the clock starts:
**${fmt(ingest.mbPerCpuSecond, 0)} MB/s of layer bytes per second of the emulator's CPU** (target ≥ 400 on one core:
${verdict(ingest.mbPerCpuSecond >= 400)}); ${fmt(ingest.mbPerSecond, 0)} MB/s of wall time, client included.

`;
}

function profileSection(profiles: Profiles): string {
  const profileLines = (p: ProfileTop) => p.top.map(([name, s]) => `  - ${fmt(s)} s ${name.replace(/\|/g, '\\|')}`).join('\n');
  return `## Where the time goes

\`node --cpu-prof\` of one more deploy of the 256 MiB layer (${fmt(profiles.wall)} s), on both sides; self time per function:
- the \`deploy\` process: ${fmt(profiles.deploy.total)} s sampled, ${fmt(profiles.deploy.idle)} s of it idle (waiting for the emulator):
${profileLines(profiles.deploy)}
- the emulator: ${fmt(profiles.emulator.total)} s sampled, ${fmt(profiles.emulator.idle)} s of it idle:
${profileLines(profiles.emulator)}

`;
}

/** Why the figures are what they are: measured once, by hand, and kept with the report. */
const READING = `## Reading the figures

- **Why a compressed layer takes longer than skopeo.** For each byte of layer, our publisher hashes 2.33 bytes
  (the layer's sha256, and SigV4's sha256 of a JSON body in which the bytes are base64, 4/3 as large), encodes it to
  base64 and sends 1.33 bytes; the emulator then decodes, hashes and writes it. skopeo hashes each byte once and sends
  it raw. The ECR Public API takes the parts of a layer strictly one after the other: our publisher prepares (reads,
  encodes, hashes) the next part while one is in flight, so client and emulator work at the same time, but on two
  cores shared with the emulator, skopeo's registry and other work, both sides compete for the same CPU.
- **The \`deploy\` command** costs its own start-up (loading the cloud assembly, the emulator account lookup, the
  handlers' state) on top of the handler; its asset bucket is served by a child process, off the handler's thread.
- **docker-save layers** are compressed once (into the function's \`/tmp\` when they fit, several at a time, then
  uploaded from there). Each MiB is judged on samples: a MiB that does not compress (the random half of these
  layers) is written as deflate stored blocks, a copy, where zlib would spend about 30 ms of CPU on it at any level;
  the rest is deflated at level 6 on Node's thread pool. skopeo's compressor also stores incompressible blocks, and
  compresses on several cores.
- **Peak RSS.** A Node.js process starts at about 41 MB; the bundled publisher (which carries its own copy of the
  SDK) adds about 34 MB as it loads, so the bench harness publishing a 5.5 MiB image peaks at about 125 MB. Each blob
  in flight holds its part buffer and two prepared part bodies (about 38 MB for 10 MiB parts), and chunks of the S3
  stream wait for the garbage collector: one large layer peaks near 200 MB, several blobs at once (40 layers, the
  docker-save layers) higher. The \`deploy\` command holds, in the same process, the deployer (about 14 MB of modules),
  the cloud assembly and every handler bundle the app uses, each with its SDK: 11 to 54 MB above the harness for
  the same image, and the asset bucket in a child process of its own.
- **Re-publishing** asks BatchCheckLayerAvailability once per 100 blobs and uploads nothing; the wall time is mostly the
  start-up of a Node.js process and the loading of the bundled handler. Layers compressed at deploy have no digest
  known before they are compressed: the handler reads the manifest the tag points at back through the repository's
  registry API, and when it is this image compressed (byte for byte) with its layers in the repository, it compresses
  nothing.
- **The emulator alone** spends its CPU on the part's sha256, receiving and copying the body, decoding the base64 (in
  small slices from the body's bytes: no 14 MB string per part) and the write of each part to its upload file. The
  write is a page-cache copy whose cost is the kernel's, as system time: on this virtual machine, 26 writes of 10 MiB
  into a new file cost 0.55 to 0.7 s of system CPU when the page cache grows into memory the machine has not touched
  yet, and 0.05 to 0.07 s when it reuses freed pages (measured alone, with \`process.cpuUsage\`). A profile of three
  ingests into a fresh emulator (170 to 195 MB/s) gives per 256 MiB: writeBuffer 0.66 s, sha256 0.18 s, buffer copies and slices 0.13 s,
  garbage collection 0.07 s, base64 decoding 0.05 s. Without the growth of the page cache the rate would be about
  300 MB/s; the rest is the sha256 that CompleteLayerUpload needs and receiving 1.33 bytes of base64 per layer byte.
  In this run the ingest is measured after every other case, with the emulator holding their images.

`;

function lambdaSection(rows: Row[]): string {
  const oneGiB = rows.find((r) => r.c.name === 'one 1 GiB layer')!;
  const cpuPerGiB = perGiB(oneGiB.harness.cpu, oneGiB.bytes);
  const lambdaMbPerSecond = (LAMBDA_1024_VCPU * GiB) / 1e6 / cpuPerGiB;
  return `## On Lambda

Publishing is CPU-bound here: the bench harness spends ${fmt(cpuPerGiB, 1)} s of CPU per GiB of compressed layers. A function of
1024 MB (the default) has about ${fmt(LAMBDA_1024_VCPU, 2)} vCPU, so expect at most about **${fmt(lambdaMbPerSecond, 0)} MB/s** there
(${fmt((lambdaMbPerSecond * 900) / 1000, 0)} GB in a 15-minute run), less when the network to ECR Public is the limit; 1769 MB
gives a whole vCPU. Layers gzipped at deploy cost their compression on top (zlib runs on Node's thread pool, several
layers at once).

`;
}

function synthSection(synthRows: string[]): string {
  return `## Synth

Median of 3 runs of \`app.synth()\` for one stack with N repositories, ours against \`CfnPublicRepository\`.

| repositories | ours | Lambda functions | CfnPublicRepository | Lambda functions | ratio |
|---|---|---|---|---|---|
${synthRows.join('\n')}

The number of functions stays the same however many repositories (one per handler kind).
`;
}
