import { PutImageCommand } from '@aws-sdk/client-ecr-public';
import { buildIndex, createRepo, OCI_INDEX, OCI_MANIFEST, pushImage, randomBytes, registryAlias, sha256, uploadTestBlob, useEmulator } from './support';

const h = useEmulator();

describe('OCI distribution pull API (anonymous)', () => {
  test('GET /v2/ is 200', async () => {
    const res = await fetch(`${h.emu.endpoint}/v2/`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });

  test('manifests by tag and digest, blobs by digest, tags/list', async () => {
    const repo = await createRepo(h.client, 'pull/app');
    const layerData = randomBytes(2000);
    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await uploadTestBlob(h.client, repo, layerData), size: 2000 };
    const img = await pushImage(h.client, repo, 'v1', { layers: [layer] });
    const alias = await registryAlias(h.client);
    const base = `${h.emu.endpoint}/v2/${alias}/${repo}`;

    for (const ref of ['v1', img.digest]) {
      const res = await fetch(`${base}/manifests/${ref}`, { headers: { accept: `${OCI_MANIFEST}, ${OCI_INDEX}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect(res.headers.get('docker-content-digest')).toBe(img.digest);
      expect(await res.text()).toBe(img.manifest);
    }

    const head = await fetch(`${base}/manifests/v1`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(img.digest);

    const blob = await fetch(`${base}/blobs/${layer.digest}`);
    expect(blob.status).toBe(200);
    expect(blob.headers.get('docker-content-digest')).toBe(layer.digest);
    const bytes = Buffer.from(await blob.arrayBuffer());
    expect(sha256(bytes)).toBe(layer.digest);

    const blobHead = await fetch(`${base}/blobs/${layer.digest}`, { method: 'HEAD' });
    expect(blobHead.status).toBe(200);
    expect(blobHead.headers.get('content-length')).toBe('2000');

    const tags = await fetch(`${base}/tags/list`);
    expect(tags.status).toBe(200);
    expect(await tags.json()).toEqual({ name: `${alias}/${repo}`, tags: ['v1'] });
  });

  test('an index is served with its media type', async () => {
    const repo = await createRepo(h.client, 'pull/multi');
    const a = await pushImage(h.client, repo);
    const index = buildIndex([a]);
    await h.client.send(new PutImageCommand({ repositoryName: repo, imageManifest: index.manifest, imageTag: 'multi' }));
    const alias = await registryAlias(h.client);
    const res = await fetch(`${h.emu.endpoint}/v2/${alias}/${repo}/manifests/multi`, { headers: { accept: OCI_INDEX } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(OCI_INDEX);
    expect(res.headers.get('docker-content-digest')).toBe(index.digest);
    expect(await res.text()).toBe(index.manifest);
  });

  test('unknown manifest and blob are 404 with distribution error codes', async () => {
    const repo = await createRepo(h.client, 'pull/empty');
    const alias = await registryAlias(h.client);
    const m = await fetch(`${h.emu.endpoint}/v2/${alias}/${repo}/manifests/nope`);
    expect(m.status).toBe(404);
    expect(((await m.json()) as any).errors?.[0]?.code).toBe('MANIFEST_UNKNOWN');
    const b = await fetch(`${h.emu.endpoint}/v2/${alias}/${repo}/blobs/${sha256('nope')}`);
    expect(b.status).toBe(404);
    expect(((await b.json()) as any).errors?.[0]?.code).toBe('BLOB_UNKNOWN');
  });
});
