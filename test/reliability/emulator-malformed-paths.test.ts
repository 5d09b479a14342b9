/**
 * Malformed request paths are client input like any other: a bad percent escape (`%E0%A4%A`) in `/v2/` paths, logo
 * names or bucket keys, and logo names that resolve to a directory (`/logo/.`, `/logo/x%2F.`, `/logo/a%2F..`), are
 * answered with a 4xx and a body, never a 5xx or a closed connection. The paths are sent byte for byte to the
 * emulator running as a real process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { pushSetup, rawRequest, tearDown } from './emulator-process';
import { basicAuthorization, ecrPublicClient, ensureCompiledEmulator, ServedEmulator, serveEmulator } from '../support/emulator-harness';
import { makeTempDir } from '../support/temp-dirs';

const BAD = '%E0%A4%A';
let tmp: string;
let served: ServedEmulator;
let client: ECRPUBLICClient;
let alias: string;
let password: string;

beforeAll(async () => {
  await ensureCompiledEmulator();
  tmp = makeTempDir('emulator-paths-');
  const bucketDir = path.join(tmp, 'bucket');
  fs.mkdirSync(bucketDir);
  fs.writeFileSync(path.join(bucketDir, 'file.txt'), 'served\n');
  served = await serveEmulator(path.join(tmp, 'data'), ['--bucket', `assets=${bucketDir}`]);
  client = ecrPublicClient(served.endpoint);
  ({ alias, password } = await pushSetup(client, 'paths/app'));
}, 200_000);

afterAll(() => tearDown(client, served, tmp));

const cases = (): Array<[string, string, Record<string, string>?]> => [
  ['GET', `/v2/${alias}/paths/app/manifests/${BAD}`],
  ['HEAD', `/v2/${alias}/paths/app/manifests/${BAD}`],
  ['GET', `/v2/${alias}/paths/app/blobs/${BAD}`],
  ['GET', `/v2/${BAD}/paths/app/manifests/latest`],
  ['PUT', `/v2/${alias}/paths/app/manifests/${BAD}`, { 'Authorization': basicAuthorization('AWS', password), 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }],
  ['PATCH', `/v2/${alias}/paths/app/blobs/uploads/${BAD}`, { Authorization: basicAuthorization('AWS', password) }],
  ['GET', `/v2/${alias}/paths/app/blobs/uploads/${BAD}`, { Authorization: basicAuthorization('AWS', password) }],
  ['DELETE', `/v2/${alias}/paths/app/blobs/uploads/${BAD}`, { Authorization: basicAuthorization('AWS', password) }],
  ['GET', `/logo/${BAD}`],
  ['GET', '/logo/.'],
  ['GET', '/logo/..'],
  ['GET', '/logo/x%2F.'],
  ['GET', '/logo/a%2F..'],
  ['GET', '/logo/'],
  ['HEAD', '/logo/.'],
  ['GET', `/assets/${BAD}`],
  ['GET', `/${BAD}/file.txt`],
  ['GET', '/assets/.'],
  ['GET', '/assets/a%2F..%2F..%2Fetc%2Fpasswd'],
];

test('every malformed path is answered with a 4xx and a body', async () => {
  const answers: string[] = [];
  for (const [method, target, headers] of cases()) {
    const answer = await rawRequest(served.port, method, target, headers ?? {}, method === 'PUT' || method === 'PATCH' ? '{}' : undefined);
    const hasBody = method === 'HEAD' || answer.body.length > 0;
    answers.push(`${method} ${target} -> ${answer.status >= 400 && answer.status < 500 && hasBody ? '4xx' : `${answer.status} (${answer.body.length} bytes)`}`);
  }
  expect(answers).toEqual(cases().map(([method, target]) => `${method} ${target} -> 4xx`));
  // The emulator is still serving, and a good object is still there.
  const good = await rawRequest(served.port, 'GET', '/assets/file.txt');
  expect(good.status).toBe(200);
  expect(good.body.toString('utf8')).toBe('served\n');
  expect(served.output()).not.toMatch(/URIError|EISDIR/);
}, 60_000);
