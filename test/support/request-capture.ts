/**
 * A server of the test's own on 127.0.0.1 that records each request as it came off the wire (method, target, headers,
 * body) and answers a 400 every AWS client reads as a failure without retrying: the request is what a test wants, to
 * check what a real signer (the SDK, the AWS CLI) sent.
 */
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { ReceivedRequest } from '../../local/iam/sigv4';

export interface RequestCapture {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Every request received, in order. */
  readonly requests: ReceivedRequest[];
  /** Runs `send`, ignores its failure, and returns the one request it made. */
  capture(send: () => Promise<unknown>): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

export async function startRequestCapture(): Promise<RequestCapture> {
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method!, target: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(400, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-ErrorType': 'ValidationException' });
      res.end('{"__type":"ValidationException","message":"captured"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    capture: async (send) => {
      const before = requests.length;
      await send().catch(() => undefined);
      if (requests.length !== before + 1) throw new Error(`expected one request, got ${requests.length - before}`);
      return requests[requests.length - 1];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
