/**
 * The emulator's stand-ins for private ECR repositories (where the local deployer publishes Docker image assets):
 * the private ECR API's GetAuthorizationToken, called with the AWS SDK's own ECR client, and the registry API of the
 * stand-ins as a private registry answers it (credentials required for every request), pushed to and pulled from by
 * skopeo and by hand.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeRepositoriesCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { RunningEmulator } from '../../../local';
import { basicAuthorization, LOCAL_CREDENTIALS, startInProcess, stopInProcess, InProcessEmulator } from '../../support/emulator-harness';
import { OciLayoutImage } from '../../support/oci-layout';
import { errorName } from '../../support/rejections';
import { skopeo, skopeoRawDigest } from '../../support/skopeo';
import { buildImage } from '../../support/umoci-images';

const NAME = 'cdk-hnb659fds-container-assets-123456789012-eu-west-1';

let h: InProcessEmulator;
let emu: RunningEmulator;
let ecr: ECRClient;
let image: OciLayoutImage;
let password: string;

beforeAll(async () => {
  h = await startInProcess();
  emu = h.emu;
  ecr = new ECRClient({ endpoint: emu.endpoint, region: 'eu-west-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  image = await buildImage(path.join(emu.root, 'private-ecr', NAME), { tag: 'abc123', files: { 'hello.txt': 'hello\n' } });
  const out = await ecr.send(new GetAuthorizationTokenCommand({}));
  password = Buffer.from(out.authorizationData![0].authorizationToken!, 'base64').toString('utf8').replace(/^AWS:/, '');
}, 60_000);

afterAll(async () => {
  ecr?.destroy();
  await stopInProcess(h);
});

/** The registry API's error body. */
type RegistryErrors = { errors: Array<{ code: string }> };

function get(pathname: string, authorization?: string, method = 'GET'): Promise<Response> {
  return fetch(`${emu.endpoint}${pathname}`, { method, headers: authorization ? { authorization } : {} });
}

describe('GetAuthorizationToken of the private ECR API', () => {
  test('answers one token for the account: base64 of AWS:<password>, valid 12 hours, with the registry as proxy endpoint', async () => {
    const out = await ecr.send(new GetAuthorizationTokenCommand({ registryIds: [emu.accountId] }));
    expect(out.authorizationData).toHaveLength(1);
    const [data] = out.authorizationData!;
    expect(Buffer.from(data.authorizationToken!, 'base64').toString('utf8')).toMatch(/^AWS:[A-Za-z0-9_-]{64}$/);
    expect(data.proxyEndpoint).toBe(`http://${emu.host}`);
    expect(Math.abs(data.expiresAt!.getTime() / 1000 - (emu.now() + 12 * 3600))).toBeLessThan(5);
  });

  test('refuses a registry of another account, and more than ten ids (InvalidParameterException)', async () => {
    expect(await errorName(ecr.send(new GetAuthorizationTokenCommand({ registryIds: ['999988887777'] })))).toBe('InvalidParameterException');
    expect(await errorName(ecr.send(new GetAuthorizationTokenCommand({ registryIds: Array(11).fill(emu.accountId) })))).toBe('InvalidParameterException');
  });

  test('no other private ECR operation is served (UnknownOperationException)', async () => {
    expect(await errorName(ecr.send(new DescribeRepositoriesCommand({})))).toBe('UnknownOperationException');
  });
});

describe('the registry API of a stand-in repository', () => {
  test('need the password: none, or a wrong one, is 401 with a Basic challenge', async () => {
    for (const authorization of [undefined, basicAuthorization('AWS', 'not-issued')]) {
      const res = await get(`/v2/${NAME}/manifests/abc123`, authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(`Basic realm="http://${emu.host}/",service="ecr.amazonaws.com"`);
      expect((await res.json() as RegistryErrors).errors[0].code).toBe('UNAUTHORIZED');
    }
  });

  test('with it, serve the manifest by tag and by digest byte for byte, the blobs and the tags', async () => {
    const auth = basicAuthorization('AWS', password);
    for (const reference of ['abc123', image.root.digest]) {
      const res = await get(`/v2/${NAME}/manifests/${reference}`, auth);
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(image.root.digest);
      expect(res.headers.get('content-type')).toBe(image.root.mediaType);
      expect(Buffer.from(await res.arrayBuffer()).equals(image.root.bytes)).toBe(true);
    }
    for (const blob of image.blobs) {
      const res = await get(`/v2/${NAME}/blobs/${blob.digest}`, auth);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(blob.path))).toBe(true);
    }
    expect(await (await get(`/v2/${NAME}/tags/list`, auth)).json()).toEqual({ name: NAME, tags: ['abc123'] });
  });

  test('answer what the layout does not hold as unknown, a link out of it included', async () => {
    const auth = basicAuthorization('AWS', password);
    const outside = `sha256:${'e'.repeat(64)}`;
    fs.symlinkSync('/etc/hostname', path.join(emu.root, 'private-ecr', NAME, 'blobs', 'sha256', 'e'.repeat(64)));
    for (const digest of [outside, `sha256:${'f'.repeat(64)}`, 'sha256:..%2F..%2Findex.json']) {
      const res = await get(`/v2/${NAME}/blobs/${digest}`, auth);
      expect([res.status, (await res.json() as RegistryErrors).errors[0].code]).toEqual([404, 'BLOB_UNKNOWN']);
    }
    const res = await get(`/v2/${NAME}/manifests/nope`, auth);
    expect([res.status, (await res.json() as RegistryErrors).errors[0].code]).toEqual([404, 'MANIFEST_UNKNOWN']);
  });

  test("a name of another account is no stand-in: the public registry API's answer", async () => {
    const other = await get('/v2/cdk-hnb659fds-container-assets-999988887777-us-west-2/manifests/abc123', basicAuthorization('AWS', password));
    expect([other.status, (await other.json() as RegistryErrors).errors[0].code]).toEqual([404, 'NAME_UNKNOWN']);
  });

  test('skopeo pushes to a stand-in of any Region with the password, and pulls the image back byte for byte', async () => {
    const target = `docker://${emu.host}/cdk-custom12-container-assets-${emu.accountId}-ap-southeast-2:v1`;
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `AWS:${password}`, `oci:${image.layoutDir}:abc123`, target]);
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `AWS:${password}`, target]);
    expect(raw.equals(image.root.bytes)).toBe(true);
    expect(await skopeoRawDigest(`oci:${path.join(emu.root, 'private-ecr', `cdk-custom12-container-assets-${emu.accountId}-ap-southeast-2`)}:v1`)).toBe(image.root.digest);
    await expect(skopeo(['inspect', '--raw', '--tls-verify=false', target])).rejects.toThrow(/authentication required|unauthorized/i);
  });

  test('a push is checked: a blob whose bytes are not its digest, a manifest naming blobs not pushed', async () => {
    const auth = basicAuthorization('AWS', password);
    const bad = await fetch(`${emu.endpoint}/v2/${NAME}/blobs/uploads/?digest=sha256:${'0'.repeat(64)}`, { method: 'POST', headers: { authorization: auth }, body: 'not it' });
    expect([bad.status, (await bad.json() as RegistryErrors).errors[0].code]).toEqual([400, 'DIGEST_INVALID']);
    const manifest = JSON.stringify({ schemaVersion: 2, config: { digest: `sha256:${'1'.repeat(64)}` }, layers: [] });
    const put = await fetch(`${emu.endpoint}/v2/${NAME}/manifests/orphan`, {
      method: 'PUT', headers: { 'authorization': auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest,
    });
    expect([put.status, (await put.json() as RegistryErrors).errors[0].code]).toEqual([400, 'MANIFEST_BLOB_UNKNOWN']);
    const notManifest = await fetch(`${emu.endpoint}/v2/${NAME}/manifests/array`, {
      method: 'PUT', headers: { 'authorization': auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: '[]',
    });
    expect([notManifest.status, (await notManifest.json() as RegistryErrors).errors[0].code]).toEqual([400, 'MANIFEST_INVALID']);
    expect(await (await get(`/v2/${NAME}/tags/list`, auth)).json()).toEqual({ name: NAME, tags: ['abc123'] });
  });
});

describe('under serve --iam', () => {
  test('GetAuthorizationToken verifies the signature for the service ecr and asks IAM', async () => {
    const iam = await startInProcess({ iam: {} });
    const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
      new ECRClient({ endpoint: iam.emu.endpoint, region: 'us-west-2', credentials, maxAttempts: 1 });
    const root = client({ accessKeyId: 'local', secretAccessKey: 'local' });
    const stranger = client({ accessKeyId: 'AKIDNOBODY', secretAccessKey: 'x' });
    const forger = client({ accessKeyId: 'local', secretAccessKey: 'not-the-secret' });
    try {
      expect((await root.send(new GetAuthorizationTokenCommand({}))).authorizationData).toHaveLength(1);
      expect(await errorName(stranger.send(new GetAuthorizationTokenCommand({})))).toBe('UnrecognizedClientException');
      expect(await errorName(forger.send(new GetAuthorizationTokenCommand({})))).toBe('InvalidSignatureException');
    } finally {
      [root, stranger, forger].forEach((c) => c.destroy());
      await stopInProcess(iam);
    }
  });
});
