#!/usr/bin/env node
/** `ecr-public-local`: runs the local ECR Public emulator. */
import { parseArgs } from 'util';
import { FaultOptions, parseFaultSpec } from './faults';
import { startEmulator } from './server';

const USAGE = `Usage: ecr-public-local serve [options]

Runs a local Amazon ECR Public emulator on 127.0.0.1 (ECR Public API, OCI pull API, S3 asset buckets).

Options:
  --port N                 TCP port (default 5000; 0 picks a free port)
  --data DIR               persist state in DIR (default: in memory)
  --account-id ID          12-digit account id (default 123456789012)
  --registry-alias NAME    registry alias assigned at the first repository
  --bucket NAME=DIR        serve DIR as S3 bucket NAME (repeatable)
  --throttle-rate R        share of API requests answered with ThrottlingException
  --server-error-rate R    share of API requests answered with ServerException
  --drop-rate R            share of API requests whose connection is dropped
  --latency-ms N           latency added to every API request
  --seed N                 seed of the fault sequence
Faults can also be given as ECR_PUBLIC_LOCAL_FAULTS=throttle=0.1,server=0.05,drop=0.02,latency=5,seed=42`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command !== 'serve') {
    console.error(`Unknown command '${command}'.\n\n${USAGE}`);
    return 1;
  }
  const { values } = parseArgs({
    args: rest,
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
  const buckets: Record<string, string> = {};
  for (const spec of values.bucket ?? []) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new Error(`--bucket must be NAME=DIR (got '${spec}')`);
    buckets[spec.slice(0, eq)] = spec.slice(eq + 1);
  }
  const emulator = await startEmulator({
    port: number('port', values.port),
    dataDir: values.data,
    accountId: values['account-id'],
    registryAlias: values['registry-alias'],
    faults,
    buckets,
  });
  console.log(`endpoint ${emulator.endpoint}`);
  console.log(values.data ? `data ${emulator.root}` : 'data in memory (use --data DIR to keep it)');
  const stop = () => {
    void emulator.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return new Promise<number>(() => undefined);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
  console.error(`ecr-public-local: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
