import * as fs from 'fs'; import * as os from 'os'; import * as path from 'path';
import { App, Stack, aws_ecr as ecr } from 'aws-cdk-lib';
import { PublicRepository, CatalogText, Logo } from '../src';
const big = (seed: string) => (seed + ' lorem ipsum dolor sit amet\n').repeat(2000).slice(0, 25_600);
function once(n: number, kind: string) {
  const t0 = process.hrtime.bigint();
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'scale-')) });
  const stack = new Stack(app, 'Scale');
  for (let i = 0; i < n; i++) {
    if (kind === 'l1') new ecr.CfnPublicRepository(stack, `R${i}`, { repositoryName: `scale/r-${i}` });
    else if (kind === 'plain') new PublicRepository(stack, `R${i}`, { repositoryName: `scale/r-${i}` });
    else new PublicRepository(stack, `R${i}`, { repositoryName: `scale/r-${i}`, aboutText: CatalogText.fromString(big('a' + i)), usageText: CatalogText.fromString(big('u' + i)), logo: Logo.fromFile('test/fixtures/logo.png') });
  }
  const t1 = process.hrtime.bigint();
  app.synth();
  const t2 = process.hrtime.bigint();
  return [Number(t1 - t0) / 1e9, Number(t2 - t1) / 1e9];
}
once(10, 'full'); once(10, 'l1');
for (const k of ['l1', 'plain', 'full']) console.log(k, once(480, k), once(480, k));
