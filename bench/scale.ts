/**
 * The scale rows of `npm run bench`: one stack of 480 repositories. Resources and template size with maximum-length
 * about and usage texts and a logo each, synth time against `CfnPublicRepository`, and a local deploy of them to the
 * emulator, then a second deploy with nothing changed.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, aws_ecr as ecr } from 'aws-cdk-lib';
import { deployApp } from '../local';
import { CatalogText, Logo, PublicRepository } from '../src';

const COUNT = 480;
const LOGO = path.join(__dirname, '..', 'test', 'fixtures', 'logo.png');
/** The API's longest about and usage texts. */
const MAX_TEXT = 25_600;

/** A distinct maximum-length text per repository (distinct texts are distinct assets: the worst case). */
function maxText(seed: string): string {
  return `${seed}\n${'The quick brown fox jumps over the lazy dog. '.repeat(Math.ceil(MAX_TEXT / 45))}`.slice(0, MAX_TEXT);
}

type Kind = 'ours' | 'l1';

interface Synth { readonly seconds: number; readonly resources: number; readonly templateBytes: number; readonly outdir: string }

/**
 * Builds and synthesizes one stack of `count` repositories; `full` gives each maximum-length texts and a logo,
 * `description` a description only.
 */
function synth(count: number, kind: Kind, catalog: boolean | 'description'): Synth {
  const full = catalog === true;
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scale-'));
  const started = process.hrtime.bigint();
  const app = new App({ outdir });
  const stack = new Stack(app, 'Scale');
  for (let i = 0; i < count; i++) {
    const repositoryName = `scale/repository-${i}`;
    if (kind === 'ours') {
      new PublicRepository(stack, `Repo${i}`, full
        ? { repositoryName, description: `Repository ${i}`, aboutText: CatalogText.fromString(maxText(`about ${i}`)), usageText: CatalogText.fromString(maxText(`usage ${i}`)), logo: Logo.fromFile(LOGO) }
        : { repositoryName, description: catalog === 'description' ? `Repository ${i}` : undefined });
    } else {
      // The L1 has no asset support: its catalog texts are inline (and a logo cannot be given at all).
      new ecr.CfnPublicRepository(stack, `Repo${i}`, full
        ? { repositoryName, repositoryCatalogData: { RepositoryDescription: `Repository ${i}`, AboutText: maxText(`about ${i}`), UsageText: maxText(`usage ${i}`) } }
        : { repositoryName });
    }
  }
  const assembly = app.synth();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const artifact = assembly.getStackByName('Scale');
  return {
    seconds,
    resources: Object.keys(artifact.template.Resources ?? {}).length,
    templateBytes: fs.statSync(path.join(assembly.directory, artifact.templateFile)).size,
    outdir,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const fmt = (n: number, d = 2) => n.toFixed(d);
const met = (ok: boolean) => (ok ? 'met' : 'missed');

/** The markdown section of the scale rows. */
export async function scaleSection(): Promise<string> {
  synth(10, 'ours', true); // load every module once before measuring
  synth(10, 'l1', true);
  const runs = (kind: Kind, full: boolean) => Array.from({ length: 3 }, () => synth(COUNT, kind, full));
  const oursFull = runs('ours', true);
  const l1Full = runs('l1', true);
  const oursPlain = runs('ours', false);
  const l1Plain = runs('l1', false);
  const seconds = (xs: Synth[]) => median(xs.map((x) => x.seconds));
  const full = oursFull[0];

  // Deployed twice each: repositories with a description, and the full stack (texts and logos served to the handlers
  // as the assets they are).
  const described = synth(COUNT, 'ours', 'description');
  const deployDescribed = await deployTwice(described.outdir);
  const deployFull = await deployTwice(full.outdir);
  for (const x of [...oursFull, ...l1Full, ...oursPlain, ...l1Plain, described]) fs.rmSync(x.outdir, { recursive: true, force: true });

  const ratioFull = seconds(oursFull) / seconds(l1Full);
  const ratioPlain = seconds(oursPlain) / seconds(l1Plain);
  return `## Scale

One stack of ${COUNT} \`PublicRepository\`, each with a description, a maximum-length about and usage text
(${MAX_TEXT.toLocaleString('en')} characters, distinct per repository) and a logo; median of 3 synths. The L1
\`CfnPublicRepository\` carries the same texts inline (it cannot take a logo).

| what | ours | CfnPublicRepository | target |
|---|---|---|---|
| resources in the stack | ${full.resources} | ${l1Full[0].resources} | ≤ 500 with the handler's function, role, policy and log group: ${met(full.resources <= 500)} |
| template size | ${fmt(full.templateBytes / 1e6, 3)} MB | ${fmt(l1Full[0].templateBytes / 1e6, 3)} MB | < 1 MB: ${met(full.templateBytes < 1e6)} |
| synth, full catalog | ${fmt(seconds(oursFull))} s | ${fmt(seconds(l1Full))} s | ≤ 2 s: ${met(seconds(oursFull) <= 2)}; ≤ 5× the L1's (${fmt(ratioFull, 1)}×): ${met(ratioFull <= 5)} |
| synth, name only | ${fmt(seconds(oursPlain))} s | ${fmt(seconds(l1Plain))} s | ≤ 2 s: ${met(seconds(oursPlain) <= 2)}; ≤ 5× the L1's (${fmt(ratioPlain, 1)}×): ${met(ratioPlain <= 5)} |
| local deploy to the emulator (\`deployApp\`, in-process emulator), repositories with a description | ${deployDescribed.first} | | ≤ 60 s: ${met(deployDescribed.firstMet)} |
| second deploy, nothing changed | ${deployDescribed.second} | | ≤ 5 s: ${met(deployDescribed.secondMet)} |
| local deploy, full catalog (about 25 MB of texts) | ${deployFull.first} | | ≤ 60 s: ${met(deployFull.firstMet)} |
| second deploy, nothing changed | ${deployFull.second} | | ≤ 5 s: ${met(deployFull.secondMet)} |

A repository is one custom resource carrying its catalog data and policy; the texts and the logo travel as
content-addressed S3 assets (the template holds their keys), so the template grows by about a kilobyte per repository
whatever the texts. The local deployer runs independent resources concurrently (16 at a time). With the full catalog,
the emulator stores each change as the records it changed (a repository's own record holds its texts), flushed
before it answers: a change rewrites one repository, not the registry (see "The emulator's store").
`;
}

/** A first deploy of the assembly to a new emulator data directory, then a second one with nothing changed. */
async function deployTwice(assemblyDir: string) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scale-deploy-'));
  const quiet = () => undefined;
  try {
    const first = await timed(() => deployApp({ assemblyDir, dataDir, log: quiet }));
    const second = await timed(() => deployApp({ assemblyDir, dataDir, log: quiet }));
    const created = first.value.resources.filter((r) => r.action === 'created').length;
    const unchanged = second.value.resources.filter((r) => r.action === 'unchanged').length;
    return {
      first: `${fmt(first.seconds, 1)} s, ${created} created`,
      firstMet: first.seconds <= 60 && created === COUNT,
      second: `${fmt(second.seconds, 1)} s, ${unchanged} unchanged`,
      secondMet: second.seconds <= 5 && unchanged === COUNT,
    };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, value };
}

if (require.main === module) {
  scaleSection().then((md) => console.log(md), (err) => {
    console.error(err);
    process.exit(1);
  });
}
