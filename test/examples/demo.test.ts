/**
 * `npm run demo` as a person runs it: on the port asked for (DEMO_PORT or --port), with closing hints that name that
 * port and one data directory, and a pull-back that matches the deployed digest.
 */
import { execFile } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const TS_NODE = path.join(ROOT, 'node_modules', '.bin', 'ts-node');

function demo(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(TS_NODE, ['--transpile-only', 'examples/demo.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 180_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as any).code ?? 1) : 0, output: stdout + stderr }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

test('the demo runs on DEMO_PORT and its hints use that port and one data directory', async () => {
  const port = await freePort();
  const { code, output } = await demo([], { DEMO_PORT: String(port) });
  expect(output).toContain(`Start the emulator on 127.0.0.1:${port}`);
  expect(code).toBe(0);
  expect(output).toMatch(/pulled manifest sha256:[0-9a-f]{64}: the digest the deploy reported/);
  const hints = output.slice(output.indexOf('Look around')).split('\n').filter((l) => l.includes('npx ecr-public-local') || l.includes('aws ecr-public'));
  expect(hints).toHaveLength(5);
  const dataDirs = new Set(hints.flatMap((l) => [...l.matchAll(/--data (\S+)/g)].map((m) => m[1])));
  expect([...dataDirs]).toEqual([path.join('.emulator-data', 'demo')]);
  const ports = new Set(hints.flatMap((l) => [...l.matchAll(/(?:--port |127\.0\.0\.1:)(\d+)/g)].map((m) => Number(m[1]))));
  expect([...ports]).toEqual([port]);
});

test('--port takes precedence over DEMO_PORT, and a port that is not a number is refused before anything starts', async () => {
  const bad = await demo(['--port', 'http'], { DEMO_PORT: '1' });
  expect(bad.code).not.toBe(0);
  expect(bad.output).toContain("demo failed: the port must be an integer from 0 to 65535 (got 'http')");
  expect(bad.output).not.toContain('Synthesize the example app');
});
