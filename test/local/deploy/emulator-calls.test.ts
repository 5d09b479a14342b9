/**
 * The deployer's own calls to an emulator (`callEmulator`) when what answers is not one: nothing listening, another
 * kind of server, an answer cut off, an answer too large. Each is a clear error naming the endpoint; those a retry
 * could heal are retried first. (Calls that succeed are every deploy's: the deploy suites cover them.)
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { callEmulator, DEFAULT_ROOT_CREDENTIALS, EmulatorApiError } from '../../../local/deploy/emulator-calls';

interface TestServer {
  readonly endpoint: string;
  requests(): number;
  close(): Promise<void>;
}

/** A server answering every request with `answer`, counting the requests. */
async function server(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TestServer> {
  let requests = 0;
  const s = http.createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    }),
  };
}

const call = (endpoint: string) => callEmulator({ endpoint, credentials: DEFAULT_ROOT_CREDENTIALS }, 'ecr-public', 'DescribeRegistries', {});

test('nothing listening: retried, then an error naming the endpoint', async () => {
  const gone = await server(() => undefined);
  const endpoint = gone.endpoint;
  await gone.close();
  await expect(call(endpoint)).rejects.toThrow(new RegExp(`^No ECR Public emulator answers at ${endpoint.replace(/\./g, '\\.')}: .*ECONNREFUSED`));
}, 30_000);

test('another kind of server: not retried, named as not an emulator', async () => {
  const other = await server((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/html' });
    res.end('<html>Not Found</html>');
  });
  try {
    await expect(call(other.endpoint)).rejects.toThrow(`${other.endpoint} is not an ECR Public emulator (DescribeRegistries answered HTTP 404: <html>Not Found</html>)`);
    expect(other.requests()).toBe(1);
  } finally {
    await other.close();
  }
});

test('an answer cut off is retried; an error answer of the API is the API\'s error', async () => {
  let calls = 0;
  const flaky = await server((_req, res) => {
    if (++calls === 1) {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': '1000' });
      res.write('{"registries":');
      setTimeout(() => res.destroy(), 10);
      return;
    }
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify({ __type: 'com.amazonaws#InvalidParameterException', message: 'no' }));
  });
  try {
    const err = await call(flaky.endpoint).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(EmulatorApiError);
    expect((err as EmulatorApiError).message).toBe('InvalidParameterException: no');
    expect(flaky.requests()).toBe(2);
  } finally {
    await flaky.close();
  }
}, 30_000);

test('an answer larger than any the API gives is refused without being held, and not asked for again', async () => {
  const huge = await server((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    const more = (): void => {
      while (sent < 64 && res.write(chunk)) sent++;
      if (sent < 64) res.once('drain', more);
      else res.end();
    };
    more();
  });
  try {
    await expect(call(huge.endpoint)).rejects.toThrow(`The answer of ${huge.endpoint} to DescribeRegistries is larger than 16777216 bytes`);
    expect(huge.requests()).toBe(1);
  } finally {
    await huge.close();
  }
}, 60_000);
