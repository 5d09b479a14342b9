/**
 * A full disk under the emulator's data directory and the deployer's state: a small tmpfs, filled up with a file of
 * its own. Every write the disk refuses is answered as an error with nothing of it applied, in memory or on disk, and
 * everything acknowledged before is still there after a restart.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRegistriesCommand,
  DescribeRepositoriesCommand,
  InitiateLayerUploadCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr-public';
import { StateStore } from '../../local/deploy/state';
import { expectError, Harness, MIB, randomBytes, registryAlias, sha256, start, stop } from '../local/conformance/support';
import { basicAuthorization, loginPassword } from '../support/emulator-harness';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

/** The tmpfs: big enough for the store, small enough to fill in a moment. */
const DISK_BYTES = 8 * MIB;

let mountPoint: string;
let filler: string;

/** Fills the disk with the filler file, leaving about `free` bytes. */
function leaveFree(free: number): void {
  fs.rmSync(filler, { force: true });
  const { bavail, bsize } = fs.statfsSync(mountPoint);
  const size = Math.max(0, bavail * bsize - free);
  const fd = fs.openSync(filler, 'w');
  try {
    const chunk = Buffer.alloc(Math.min(size, MIB));
    for (let written = 0; written < size;) written += fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - written));
  } finally {
    fs.closeSync(fd);
  }
}

function freeDisk(): void {
  fs.rmSync(filler, { force: true });
}

beforeAll(() => {
  mountPoint = makeTempDir('store-full-disk-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK_BYTES}`, 'tmpfs', mountPoint]);
  filler = path.join(mountPoint, 'filler');
});

afterAll(() => {
  execFileSync('umount', [mountPoint]);
  removeTempDir(mountPoint);
});

describe('the emulator on a full disk', () => {
  let h: Harness | undefined;
  const dataDir = () => path.join(mountPoint, 'emulator');

  afterEach(async () => {
    await stop(h);
    h = undefined;
    freeDisk();
    fs.rmSync(dataDir(), { recursive: true, force: true });
  });

  test('a repository the disk cannot take is refused with a server error and exists nowhere, before or after a restart', async () => {
    h = await start({ dataDir: dataDir() });
    for (let i = 0; i < 20; i++) await h.client.send(new CreateRepositoryCommand({ repositoryName: `kept/repo-${i}` }));
    leaveFree(0);
    const text = 'x'.repeat(25_600);
    await expectError(h.client.send(new CreateRepositoryCommand({
      repositoryName: 'refused/repo', catalogData: { aboutText: text, usageText: text },
    })), 'ServerException');
    const listed = async () => ((await h!.client.send(new DescribeRepositoriesCommand({}))).repositories ?? []).map((r) => r.repositoryName).sort();
    expect(await listed()).not.toContain('refused/repo');
    expect(await listed()).toHaveLength(20);

    freeDisk();
    await stop(h);
    h = await start({ dataDir: dataDir() });
    expect(await listed()).toHaveLength(20);
    expect(await listed()).not.toContain('refused/repo');
    // The name is free: the refused repository left nothing behind.
    await h.client.send(new CreateRepositoryCommand({ repositoryName: 'refused/repo' }));
  });

  test('the first repository, which also gives the registry its alias, is refused whole', async () => {
    h = await start({ dataDir: dataDir() });
    leaveFree(0);
    await expectError(h.client.send(new CreateRepositoryCommand({ repositoryName: 'first/repo' })), 'ServerException');
    freeDisk();
    expect((await h.client.send(new DescribeRegistriesCommand({}))).registries).toEqual([]);
    await stop(h);
    h = await start({ dataDir: dataDir() });
    expect((await h.client.send(new DescribeRegistriesCommand({}))).registries).toEqual([]);
    expect((await h.client.send(new DescribeRepositoriesCommand({}))).repositories ?? []).toEqual([]);
  });

  test('a repository can be deleted on a full disk, to make room', async () => {
    h = await start({ dataDir: dataDir() });
    const c = h.client;
    await c.send(new CreateRepositoryCommand({ repositoryName: 'kept/repo' }));
    await c.send(new CreateRepositoryCommand({ repositoryName: 'deleted/repo' }));
    await c.send(new InitiateLayerUploadCommand({ repositoryName: 'deleted/repo' }));
    leaveFree(0);
    await c.send(new DeleteRepositoryCommand({ repositoryName: 'deleted/repo' }));
    const listed = async () => ((await h!.client.send(new DescribeRepositoriesCommand({}))).repositories ?? []).map((r) => r.repositoryName);
    expect(await listed()).toEqual(['kept/repo']);
    freeDisk();
    await stop(h);
    h = await start({ dataDir: dataDir() });
    expect(await listed()).toEqual(['kept/repo']);
    expect(fs.readdirSync(path.join(dataDir(), 'uploads'))).toEqual([]);
  });

  test('a layer part the disk cannot take does not advance the upload, and no blob stored short is ever available', async () => {
    h = await start({ dataDir: dataDir() });
    const c = h.client;
    await c.send(new CreateRepositoryCommand({ repositoryName: 'blobs/app' }));
    const blob = randomBytes(MIB);
    const digest = sha256(blob);
    const { uploadId } = await c.send(new InitiateLayerUploadCommand({ repositoryName: 'blobs/app' }));
    leaveFree(300 * 1024);
    await expectError(c.send(new UploadLayerPartCommand({
      repositoryName: 'blobs/app', uploadId, partFirstByte: 0, partLastByte: blob.length - 1, layerPartBlob: blob,
    })), 'ServerException');
    freeDisk();

    // Nothing was received: the upload has no part, the blob is not there.
    await expectError(c.send(new CompleteLayerUploadCommand({ repositoryName: 'blobs/app', uploadId, layerDigests: [digest] })), 'EmptyUploadException');
    const before = await c.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: 'blobs/app', layerDigests: [digest] }));
    expect(before.layers?.[0]?.layerAvailability).toBe('UNAVAILABLE');

    // The same part, sent again from byte 0 once there is room, completes a blob holding every byte.
    await c.send(new UploadLayerPartCommand({
      repositoryName: 'blobs/app', uploadId, partFirstByte: 0, partLastByte: blob.length - 1, layerPartBlob: blob,
    }));
    await c.send(new CompleteLayerUploadCommand({ repositoryName: 'blobs/app', uploadId, layerDigests: [digest] }));
    const after = await c.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: 'blobs/app', layerDigests: [digest] }));
    expect(after.layers?.[0]).toMatchObject({ layerAvailability: 'AVAILABLE', layerSize: blob.length });
    const alias = await registryAlias(c);
    const pulled = Buffer.from(await (await fetch(`${h.emu.endpoint}/v2/${alias}/blobs/app/blobs/${digest}`)).arrayBuffer());
    expect(sha256(pulled)).toBe(digest);
  });

  test('a registry chunk the disk cannot take is a 500 and leaves the upload where it was', async () => {
    h = await start({ dataDir: dataDir() });
    const c = h.client;
    await c.send(new CreateRepositoryCommand({ repositoryName: 'registry/app' }));
    const alias = await registryAlias(c);
    const auth = { Authorization: basicAuthorization('AWS', await loginPassword(c)) };
    const base = `${h.emu.endpoint}/v2/${alias}/registry/app`;
    const started = await fetch(`${base}/blobs/uploads/`, { method: 'POST', headers: auth });
    expect(started.status).toBe(202);
    const location = `${h.emu.endpoint}${started.headers.get('location')}`;
    const blob = randomBytes(MIB);

    // Room for the body to arrive (it is received into the store's tmp/ first), not for it to be appended as well.
    leaveFree(MIB + 512 * 1024);
    const refused = await fetch(location, { method: 'PATCH', headers: auth, body: blob });
    expect(refused.status).toBe(500);
    expect(((await refused.json()) as any).errors[0].code).toBe('UNKNOWN');
    freeDisk();
    const state = await fetch(location, { headers: auth });
    expect(state.status).toBe(204);
    expect(state.headers.get('range')).toBe('0-0');

    const patched = await fetch(location, { method: 'PATCH', headers: auth, body: blob });
    expect(patched.headers.get('range')).toBe(`0-${blob.length - 1}`);
    const put = await fetch(`${location}?digest=${sha256(blob)}`, { method: 'PUT', headers: auth });
    expect(put.status).toBe(201);
    const pulled = Buffer.from(await (await fetch(`${base}/blobs/${sha256(blob)}`)).arrayBuffer());
    expect(pulled.equals(blob)).toBe(true);
  });
});

describe("the deployer's state on a full disk", () => {
  test('a save the disk cannot take throws and leaves the previous state intact', () => {
    const dir = path.join(mountPoint, 'deployer');
    const store = new StateStore(dir);
    const state = store.loadOrCreate('App', '123456789012', 'us-east-1');
    state.exports.set('small', 'value');
    store.save(state);
    const saved = fs.readFileSync(store.file('App'), 'utf8');
    try {
      leaveFree(0);
      state.exports.set('large', 'y'.repeat(2 * MIB));
      expect(() => store.save(state)).toThrow(/ENOSPC|no space|short write/i);
      expect(fs.readFileSync(store.file('App'), 'utf8')).toBe(saved);
      expect(store.load('App')?.exports.get('small')).toBe('value');
      expect(fs.readdirSync(path.dirname(store.file('App'))).filter((n) => n.includes('tmp'))).toEqual([]);
    } finally {
      freeDisk();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
