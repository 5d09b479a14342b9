#!/usr/bin/env node
/** `ecr-public-local`: runs the local ECR Public emulator, and deploys synthesized apps to it. */
import { parseArgs } from 'util';
import { deployApp, destroyApp, LocalDeployError } from './deploy';
import { accountRootCredentials, exportLines, principalCredentials } from './deploy/credentials';
import { dict } from './dictionary';
import { FaultOptions, parseFaultSpec } from './faults';
import type { IamOptions } from './server';
import { LocalSweepError, sweepApp } from './sweep';

// The handlers' bundled AWS SDK warns about the Node.js version on every client it creates; deploy runs them here, on
// the user's Node.js, where that warning (meant for Lambda functions) is noise. This is the variable the SDK reads.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SYNOPSIS = `Usage: ecr-public-local serve [options]
       ecr-public-local deploy <cloud assembly dir> [--stack NAME] [--outputs-file FILE] [--no-rollback] [--data DIR] [--endpoint URL] [--account-id ID] [--port N] [--verbose]
       ecr-public-local destroy <cloud assembly dir> [--stack NAME] [--data DIR] [--endpoint URL] [--account-id ID] [--port N] [--verbose]
       ecr-public-local sweep <cloud assembly dir> [--stack NAME] [--now ISO-8601] [--dry-run] [--data DIR] [--endpoint URL] [--account-id ID] [--verbose]
       ecr-public-local credentials <cloud assembly dir> <construct path of a role or user> [--data DIR] [--endpoint URL]
       ecr-public-local credentials --account <12 digits> [--data DIR] [--endpoint URL]
       ecr-public-local <command> --help`;

const SERVE_HELP = `Usage: ecr-public-local serve [options]

Runs a local Amazon ECR Public emulator on 127.0.0.1 (ECR Public API, OCI pull and push API, S3 asset buckets).

Options:
  --port N                 TCP port (default 5000; 0 picks a free port)
  --data DIR               persist state in DIR (default: in memory); one process at a time uses a data directory
  --account-id ID          12-digit account id (default 123456789012)
  --registry-alias NAME    registry alias assigned at the first repository
  --bucket NAME=DIR        serve DIR as S3 bucket NAME (repeatable)
  --throttle-rate R        share of API requests answered with ThrottlingException
  --server-error-rate R    share of API requests answered with ServerException
  --drop-rate R            share of API requests whose connection is dropped
  --latency-ms N           latency added to every API request
  --seed N                 seed of the fault sequence
  --upload-expiry S        seconds after which an untouched, unfinished upload expires (default 86400)
  --clock-offset S         seconds added to the emulator's clock (to test age-based rules; default 0)
  --rate-quotas            answer calls beyond ECR Public's documented rates (e.g. InitiateLayerUpload 10/s,
                           UploadLayerPart 260/s) with ThrottlingException
  --iam                    verify every SigV4 signature (ECR Public API and S3) and let IAM decide every call; the
                           account root signs with local/local unless --root-credentials says otherwise
  --root-credentials K:S   the account root's access key id and secret under --iam
  --help                   print this help
Faults can also be given as ECR_PUBLIC_LOCAL_FAULTS=throttle=0.1,server=0.05,drop=0.02,latency=5,seed=42`;

function deployHelp(command: 'deploy' | 'destroy'): string {
  const what = command === 'deploy'
    ? `Runs the shipped handlers of the app's ECR Public custom resources (Custom::EcrPublic*) in-process against the
emulator, as CloudFormation would (Create, Update, Delete). State is kept in <data dir>/deployments/<stack>.json, so
a second deploy is an update. A stack whose deploy fails is rolled back, as CloudFormation does, to what its last
completed deploy left; a rollback that fails is continued by the next deploy. Each stack's outputs are printed once it
is deployed. Each handler runs as its own role: the emulator's IAM decides its calls (an emulator given with
--endpoint must run with --iam for that; the deploy warns when it does not).`
    : `Deletes what deploy recorded for the app's stacks, by running the shipped handlers' Delete with the properties
deploy recorded.`;
  return `Usage: ecr-public-local ${command} <cloud assembly dir> [options]

${what}

Options:
  --stack NAME             the stack (name, artifact id or Stage/Stack path); default: every stack of the assembly
${command === 'deploy' ? `  --outputs-file FILE      write the stacks' outputs to FILE as JSON, {"<stack>": {"<output>": "<value>"}},
                           as cdk deploy --outputs-file does
  --no-rollback            leave a failed deploy in place (as cdk deploy --no-rollback); the next deploy goes on from there
` : ''}  --data DIR               deployment state, and the in-process emulator's data (default .emulator-data)
  --endpoint URL           a running emulator (ecr-public-local serve); default AWS_ENDPOINT_URL_ECR_PUBLIC, else the
                           emulator serving --data, else one started in-process on --data for the duration of the
                           command
  --account-id ID          the emulator's account id (AWS::AccountId; default: the emulator's, 123456789012)
  --port N                 port of the in-process emulator (default: any free port)
  --root-credentials K:S   the emulator account root's key pair (as given to serve --iam; default local:local)
  --verbose                print the handlers' log lines and each skipped resource
  --help                   print this help`;
}

const CREDENTIALS_HELP = `Usage: ecr-public-local credentials <cloud assembly dir> <construct path of a role or user> [options]
       ecr-public-local credentials --account <12 digits> [options]

Prints shell export lines with credentials of a role or user of a deployed app (its construct path, for example
MyStack/CiRole), or of the root of another account (--account, for cross-account trials), issued by a running
emulator that evaluates IAM (serve --iam). They last as long as that emulator runs (12 hours at most). Try a grant:
  eval "$(npx ecr-public-local credentials cdk.out MyStack/CiRole)"
  skopeo copy --dest-creds "AWS:$(aws ecr-public get-login-password)" oci:layout:latest docker://127.0.0.1:5000/<alias>/<repo>:latest

Options:
  --account ID             the root of account ID instead of a principal of the app
  --data DIR               deployment state of the app, and the data directory of the emulator serving it
                           (default .emulator-data)
  --endpoint URL           the emulator (default AWS_ENDPOINT_URL_ECR_PUBLIC, else the emulator serving --data)
  --root-credentials K:S   the emulator account root's key pair (as given to serve --iam; default local:local)
  --help                   print this help`;

const USAGE = `${SYNOPSIS}

${SERVE_HELP.split('\n').slice(2).join('\n')}

deploy, destroy, sweep and credentials: see 'ecr-public-local <command> --help'.`;

const SWEEP_HELP = `Usage: ecr-public-local sweep <cloud assembly dir> [options]

Runs the app's lifecycle sweepers (repositories with lifecycleRules) against the emulator once, as their schedules
would, and prints what each repository kept and expired.

Options:
  --stack NAME             the stack (name, artifact id or Stage/Stack path); default: every stack of the assembly
  --now ISO-8601           the time image ages are measured at (default: now), e.g. 2027-01-01T00:00:00Z
  --dry-run                report what would expire; delete nothing
  --data DIR               deployment state, and the in-process emulator's data (default .emulator-data)
  --endpoint URL           a running emulator (ecr-public-local serve); default AWS_ENDPOINT_URL_ECR_PUBLIC, else the
                           emulator serving --data, else one started in-process on --data for the duration of the
                           command
  --account-id ID          the emulator's account id (default: the emulator's, 123456789012)
  --root-credentials K:S   the emulator account root's key pair (as given to serve --iam; default local:local)
  --verbose                print the sweeper's log lines
  --help                   print this help`;

/** Whether `args` ask for help: `--help` or `-h` anywhere, before any other parsing can refuse them. */
function asksForHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command === 'deploy' || command === 'destroy') {
    if (asksForHelp(rest)) {
      console.log(deployHelp(command));
      return 0;
    }
    return deployCommand(command, rest);
  }
  if (command === 'sweep') {
    if (asksForHelp(rest)) {
      console.log(SWEEP_HELP);
      return 0;
    }
    return sweepCommand(rest);
  }
  if (command === 'credentials') {
    if (asksForHelp(rest)) {
      console.log(CREDENTIALS_HELP);
      return 0;
    }
    return credentialsCommand(rest);
  }
  if (command !== 'serve') {
    console.error(`Unknown command '${command}'.\n\n${SYNOPSIS}`);
    return 1;
  }
  if (asksForHelp(rest)) {
    console.log(SERVE_HELP);
    return 0;
  }
  return serveCommand(rest);
}

/** `serve`: starts the emulator and runs until a signal stops it. */
async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'port': { type: 'string', default: '5000' },
      'data': { type: 'string' },
      'account-id': { type: 'string' },
      'registry-alias': { type: 'string' },
      'bucket': { type: 'string', multiple: true },
      'throttle-rate': { type: 'string' },
      'server-error-rate': { type: 'string' },
      'drop-rate': { type: 'string' },
      'latency-ms': { type: 'string' },
      'seed': { type: 'string' },
      'upload-expiry': { type: 'string' },
      'clock-offset': { type: 'string' },
      'rate-quotas': { type: 'boolean' },
      'iam': { type: 'boolean' },
      'root-credentials': { type: 'string' },
    },
  });
  const number = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (Number.isNaN(n)) throw new Error(`--${name} must be a number (got '${value}')`);
    return n;
  };
  const faults: FaultOptions = {
    ...(process.env.ECR_PUBLIC_LOCAL_FAULTS ? parseFaultSpec(process.env.ECR_PUBLIC_LOCAL_FAULTS) : {}),
    ...definedOnly({
      throttleRate: number('throttle-rate', values['throttle-rate']),
      serverErrorRate: number('server-error-rate', values['server-error-rate']),
      dropRate: number('drop-rate', values['drop-rate']),
      latencyMs: number('latency-ms', values['latency-ms']),
      seed: number('seed', values.seed),
    }),
  };
  // Bucket names are the user's: a prototype-less object keeps `__proto__` and `constructor` as names like others.
  const buckets = dict<string>();
  for (const spec of values.bucket ?? []) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new Error(`--bucket must be NAME=DIR (got '${spec}')`);
    buckets[spec.slice(0, eq)] = spec.slice(eq + 1);
  }
  // Loaded by `serve` only: deploy, destroy and sweep against a running emulator start without it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startEmulator } = require('./server') as typeof import('./server');
  const emulator = await startEmulator({
    port: number('port', values.port),
    dataDir: values.data,
    accountId: values['account-id'],
    registryAlias: values['registry-alias'],
    faults,
    buckets,
    limits: definedOnly({ uploadExpirySeconds: number('upload-expiry', values['upload-expiry']) }),
    clockOffsetSeconds: number('clock-offset', values['clock-offset']),
    rateQuotas: values['rate-quotas'],
    iam: iamOption(values.iam, values['root-credentials']),
  });
  console.log(`endpoint ${emulator.endpoint}`);
  console.log(`gallery ${emulator.endpoint}/gallery/`);
  console.log(values.data ? `data ${emulator.root}` : 'data in memory (use --data DIR to keep it)');
  const stop = () => {
    void emulator.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return new Promise<number>(() => undefined);
}

/** `--iam` and `--root-credentials KEY:SECRET`, checked. */
function iamOption(on: boolean | undefined, root: string | undefined): IamOptions | undefined {
  if (root !== undefined && !on) throw new Error('--root-credentials applies with --iam only');
  if (!on) return undefined;
  return { rootCredentials: rootCredentials(root) };
}

/** `--root-credentials KEY:SECRET`, checked; undefined when not given. */
function rootCredentials(root: string | undefined): { accessKeyId: string; secretAccessKey: string } | undefined {
  if (root === undefined) return undefined;
  const colon = root.indexOf(':');
  if (colon <= 0 || colon === root.length - 1) throw new Error('--root-credentials must be ACCESS_KEY_ID:SECRET');
  return { accessKeyId: root.slice(0, colon), secretAccessKey: root.slice(colon + 1) };
}

/** `credentials`: prints export lines; exit code 1 when no credentials could be issued. */
async function credentialsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'account': { type: 'string' },
      'data': { type: 'string' },
      'endpoint': { type: 'string' },
      'root-credentials': { type: 'string' },
    },
  });
  const options = { dataDir: values.data, endpoint: values.endpoint, rootCredentials: rootCredentials(values['root-credentials']) };
  const wanted = values.account !== undefined ? 0 : 2;
  if (positionals.length !== wanted) {
    console.error(`credentials takes ${values.account !== undefined ? 'no other argument with --account' : 'a cloud assembly directory and a construct path'}.\n\n${CREDENTIALS_HELP}`);
    return 1;
  }
  const credentials = values.account !== undefined
    ? await accountRootCredentials(values.account, options)
    : await principalCredentials(positionals[0], positionals[1], options);
  for (const line of exportLines(credentials)) console.log(line);
  return 0;
}

/** `deploy` / `destroy`: exit code 0 when every resource succeeded, 1 when a handler failed or nothing could be done. */
async function deployCommand(command: 'deploy' | 'destroy', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'stack': { type: 'string' },
      'data': { type: 'string' },
      'endpoint': { type: 'string' },
      'account-id': { type: 'string' },
      'port': { type: 'string' },
      'root-credentials': { type: 'string' },
      'verbose': { type: 'boolean', default: false },
      ...(command === 'deploy' ? { 'outputs-file': { type: 'string' as const }, 'no-rollback': { type: 'boolean' as const, default: false } } : {}),
    },
  });
  if (positionals.length !== 1) {
    console.error(`${command} takes one cloud assembly directory (got ${positionals.length}).\n\n${deployHelp(command)}`);
    return 1;
  }
  const outputsFile = (values as { 'outputs-file'?: string })['outputs-file'];
  const noRollback = (values as { 'no-rollback'?: boolean })['no-rollback'];
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !Number.isInteger(port)) throw new Error(`--port must be a number (got '${values.port}')`);
  const options = {
    assemblyDir: positionals[0],
    stackName: values.stack,
    dataDir: values.data,
    endpoint: values.endpoint,
    accountId: values['account-id'],
    port,
    rootCredentials: rootCredentials(values['root-credentials']),
    verbose: values.verbose,
    outputsFile,
    noRollback,
  };
  try {
    await (command === 'deploy' ? deployApp(options) : destroyApp(options));
    return 0;
  } catch (err) {
    // The failure and its reason are printed already; this line is for whoever reads stderr only.
    if (err instanceof LocalDeployError) {
      console.error(`ecr-public-local: ${command} failed: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

/** `sweep`: exit code 0 when every sweeper ran, 1 when one failed. */
async function sweepCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'stack': { type: 'string' },
      'now': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'data': { type: 'string' },
      'endpoint': { type: 'string' },
      'account-id': { type: 'string' },
      'root-credentials': { type: 'string' },
      'verbose': { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) {
    console.error(`sweep takes one cloud assembly directory (got ${positionals.length}).\n\n${SWEEP_HELP}`);
    return 1;
  }
  try {
    await sweepApp({
      assemblyDir: positionals[0],
      stackName: values.stack,
      now: values.now,
      dryRun: values['dry-run'],
      dataDir: values.data,
      endpoint: values.endpoint,
      accountId: values['account-id'],
      rootCredentials: rootCredentials(values['root-credentials']),
      verbose: values.verbose,
    });
    return 0;
  } catch (err) {
    if (err instanceof LocalSweepError) {
      if (!values.verbose) for (const line of err.logs) console.error(`    | ${line}`);
      console.error(`ecr-public-local: sweep failed: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
  console.error(`ecr-public-local: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
