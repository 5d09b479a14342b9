/**
 * A tiny stand-in for an AWS service spoken over awsJson1_1 (`POST /`, `X-Amz-Target: <prefix>.<Operation>`), such as
 * Secrets Manager (`secretsmanager.GetSecretValue`) or ECR (`AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken`).
 * The SDK reaches it through `AWS_ENDPOINT_URL_<SERVICE>`. Every call is recorded with the Region of its SigV4
 * credential scope.
 */
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** A modelled error: the SDK raises it with this name. */
export class AwsJsonError extends Error {
  constructor(public readonly type: string, message: string) {
    super(message);
  }
}

/** One call received. */
export interface AwsJsonCall {
  /** The operation (after the target's prefix). */
  readonly operation: string;
  readonly input: any;
  /** The Region of the request's SigV4 credential scope (undefined when unsigned). */
  readonly region?: string;
}

export interface FakeAwsJson {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  readonly calls: AwsJsonCall[];
  stop(): Promise<void>;
}

/** Serves `operations` (by operation name); an operation that throws an AwsJsonError answers that error. */
export async function startFakeAwsJson(operations: Record<string, (input: any) => unknown>): Promise<FakeAwsJson> {
  const calls: AwsJsonCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.slice(target.lastIndexOf('.') + 1);
      const region = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
      const send = (status: number, body: object, extra: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', ...extra }).end(JSON.stringify(body));
      };
      let input: any;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        send(400, { __type: 'SerializationException', message: 'not JSON' }, { 'x-amzn-errortype': 'SerializationException' });
        return;
      }
      calls.push({ operation, input, region });
      const op = operations[operation];
      if (!op) {
        send(400, { __type: 'UnknownOperationException', message: target }, { 'x-amzn-errortype': 'UnknownOperationException' });
        return;
      }
      try {
        send(200, op(input) as object);
      } catch (err) {
        const type = err instanceof AwsJsonError ? err.type : 'InternalServiceError';
        send(err instanceof AwsJsonError ? 400 : 500, { __type: type, message: (err as Error).message }, { 'x-amzn-errortype': type });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    stop: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
