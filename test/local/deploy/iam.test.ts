/**
 * The handlers' own IAM policies, evaluated: the example app (every construct of the library) is deployed, swept and
 * destroyed by the deployer's in-process emulator, which always evaluates IAM and runs each handler as its own role.
 * Then, for each statement of each handler's synthesized role policy in turn, the same lifecycle with that statement
 * removed must fail with AccessDenied naming one of its actions: every statement is needed, and is checked here as it
 * will be on AWS. The statements granting CloudWatch Logs are needed by the Lambda runtime, not by the handlers' calls
 * (the emulator serves no CloudWatch Logs): without one the deploy goes on, as on AWS, and says the logs would be lost.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildExampleApp } from '../../../examples/app';
import { deployApp, destroyApp, LocalDeployError, LocalSweepError, startEmulator, sweepApp } from '../../../local';
import { makeTempDir } from '../../support/temp-dirs';

const ROOT = path.resolve(__dirname, '..', '..', '..');

interface Statement {
  readonly Action: string | string[];
  readonly [key: string]: unknown;
}

interface HandlerPolicy {
  /** The AWS::IAM::Policy's logical id. */
  readonly policyId: string;
  readonly statements: Statement[];
}

for (const handler of ['repository', 'registry', 'image-publisher', 'lifecycle-sweeper']) {
  if (!fs.existsSync(path.join(ROOT, 'assets', handler, 'index.js'))) throw new Error(`assets/${handler}/index.js is missing: run \`npx projen bundle\` first`);
}
// Synthesized while the tests are collected: the statements to remove are read from it.
const tmp = makeTempDir('local-deploy-iam-');
const assemblyDir = path.join(tmp, 'cdk.out');
buildExampleApp(assemblyDir).synth();
const templateFile = path.join(assemblyDir, 'AcmePublicImages.template.json');
const original = fs.readFileSync(templateFile, 'utf8');

/** The policies of the library's handler roles (not the app's own CI role), with their statements. */
function handlerPolicies(): HandlerPolicy[] {
  const template = JSON.parse(original) as { Resources: Record<string, { Type: string; Properties: any }> };
  return Object.entries(template.Resources)
    .filter(([id, r]) => r.Type === 'AWS::IAM::Policy' && id.startsWith('EcrPublicHandler'))
    .map(([policyId, r]) => ({ policyId, statements: r.Properties.PolicyDocument.Statement as Statement[] }));
}

function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** Deploys the app to a fresh data directory, sweeps it, destroys it; the first failure, or undefined. */
async function lifecycle(name: string): Promise<{ failure?: string; lines: string[] }> {
  const dataDir = path.join(tmp, name);
  const lines: string[] = [];
  const log = (l: string): void => {
    lines.push(l);
  };
  try {
    await deployApp({ assemblyDir, dataDir, log });
    await sweepApp({ assemblyDir, dataDir, log });
    await destroyApp({ assemblyDir, dataDir, log });
    return { lines };
  } catch (err) {
    if (err instanceof LocalDeployError || err instanceof LocalSweepError) return { failure: err.message, lines };
    throw err;
  }
}

test('the example app deploys, sweeps and destroys with every handler running as its own role, IAM deciding each call', async () => {
  const { failure, lines } = await lifecycle('full');
  expect(failure).toBeUndefined();
  // The in-process emulator evaluates IAM: no warning that it does not.
  expect(lines.join('\n')).not.toMatch(/does not evaluate IAM/);
  expect(lines.some((l) => l.includes('acme/hello'))).toBe(true);
  expect(lines.filter((l) => /may not logs:/.test(l))).toEqual([]);
}, 180_000);

/**
 * Each statement of a handler role's policy that grants more than CloudWatch Logs: `[policy, index, actions]`. The image
 * publisher's right to invoke itself is not among them: the example app's images publish in one run, so nothing here
 * needs it (long-publish.test.ts removes it from a publish that takes several runs).
 */
const STATEMENTS = handlerPolicies().filter((p) => !p.policyId.includes('SelfInvoke')).flatMap((p) => p.statements
  .map((st, i): [string, number, string[]] => [p.policyId, i, actionsOf(st)])
  .filter(([, , actions]) => !actions.every((a) => a.startsWith('logs:'))));

test('the handler roles have the statements removed below', () => {
  // Four roles (registry, repository, image publisher, sweeper), each with an ECR Public statement, and an S3 read for
  // three of them: a change in the constructs shows here first.
  expect(new Set(STATEMENTS.map(([p]) => p)).size).toBe(4);
  expect(STATEMENTS.length).toBe(7);
  expect(handlerPolicies().filter((p) => p.policyId.includes('SelfInvoke')).map((p) => p.statements.map(actionsOf))).toEqual([[['lambda:InvokeFunction']]]);
});

test.each(STATEMENTS)('%s without statement %i (%j): the lifecycle fails with AccessDenied naming one of its actions', async (policyId, index, actions) => {
  const template = JSON.parse(original);
  template.Resources[policyId].Properties.PolicyDocument.Statement.splice(index, 1);
  fs.writeFileSync(templateFile, JSON.stringify(template));
  try {
    const { failure } = await lifecycle(`without-${policyId}-${index}`);
    expect(failure).toMatch(/AccessDenied/);
    expect(actions.filter((a) => failure!.includes(a))).not.toEqual([]);
  } finally {
    fs.writeFileSync(templateFile, original);
  }
}, 180_000);

/** Each handler role's statement granting CloudWatch Logs: `[policy, index]`. */
const LOG_STATEMENTS = handlerPolicies().flatMap((p) => p.statements
  .map((st, i): [string, number, string[]] => [p.policyId, i, actionsOf(st)])
  .filter(([, , actions]) => actions.every((a) => a.startsWith('logs:')))
  .map(([policyId, i]): [string, number] => [policyId, i]));

test.each(LOG_STATEMENTS)('%s without its logs statement %i: the deploy goes on and says the handler\'s logs would be lost', async (policyId, index) => {
  expect(LOG_STATEMENTS.length).toBe(4);
  const template = JSON.parse(original);
  template.Resources[policyId].Properties.PolicyDocument.Statement.splice(index, 1);
  fs.writeFileSync(templateFile, JSON.stringify(template));
  try {
    const { failure, lines } = await lifecycle(`without-logs-${policyId}`);
    expect(failure).toBeUndefined();
    expect(lines.filter((l) => /warning: function '.*'s role .* may not logs:CreateLogStream or logs:PutLogEvents on its log group/.test(l))).toHaveLength(1);
  } finally {
    fs.writeFileSync(templateFile, original);
  }
}, 180_000);

test('a managed policy the deployer does not know is refused, naming its ARN, not guessed', async () => {
  const template = JSON.parse(original);
  const [roleId] = Object.entries<any>(template.Resources).find(([id, r]) => r.Type === 'AWS::IAM::Role' && id.startsWith('EcrPublicHandlerrepository'))!;
  template.Resources[roleId].Properties.ManagedPolicyArns = ['arn:aws:iam::aws:policy/AdministratorAccess'];
  fs.writeFileSync(templateFile, JSON.stringify(template));
  try {
    const { failure } = await lifecycle('unknown-managed-policy');
    expect(failure).toMatch(/managed policy arn:aws:iam::aws:policy\/AdministratorAccess is not one the local deployer knows/);
  } finally {
    fs.writeFileSync(templateFile, original);
  }
}, 60_000);

test('against an emulator that does not evaluate IAM, the deploy says so once and goes on', async () => {
  const emulator = await startEmulator({});
  try {
    const lines: string[] = [];
    await deployApp({ assemblyDir, dataDir: path.join(tmp, 'open'), endpoint: emulator.endpoint, log: (l) => lines.push(l) });
    expect(lines.filter((l) => /does not evaluate IAM/.test(l))).toEqual([
      expect.stringContaining(`warning: the emulator at ${emulator.endpoint} does not evaluate IAM (start it with \`serve --iam\`)`),
    ]);
  } finally {
    await emulator.stop();
  }
}, 60_000);
