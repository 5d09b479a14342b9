import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  CompleteLayerUploadCommandInput,
  DeleteRepositoryCommand,
  InitiateLayerUploadCommand,
  UploadLayerPartCommand,
  UploadLayerPartCommandInput,
} from '@aws-sdk/client-ecr-public';
import {
  createRepo,
  expectError,
  expectInvalidParameter,
  MIB,
  MIN_PART,
  PART_SIZE,
  randomBytes,
  randomUploadId,
  registryAlias,
  sha256,
  uniqueName,
  uploadTestBlob,
  useEmulator,
} from './support';

const h = useEmulator();
let repo: string;

beforeAll(async () => {
  repo = await createRepo(h.client, uniqueName('uploads'));
});

async function initiate(repositoryName = repo): Promise<string> {
  const out = await h.client.send(new InitiateLayerUploadCommand({ repositoryName }));
  return out.uploadId!;
}

function part(uploadId: string, first: number, data: Buffer, extra: Partial<UploadLayerPartCommandInput> = {}) {
  return h.client.send(new UploadLayerPartCommand({
    repositoryName: repo,
    uploadId,
    partFirstByte: first,
    partLastByte: first + data.length - 1,
    layerPartBlob: data,
    ...extra,
  }));
}

function complete(uploadId: string, layerDigests: string[], extra: Partial<CompleteLayerUploadCommandInput> = {}) {
  return h.client.send(new CompleteLayerUploadCommand({ repositoryName: repo, uploadId, layerDigests, ...extra }));
}

async function check(digests: string[], repositoryName = repo) {
  return h.client.send(new BatchCheckLayerAvailabilityCommand({ repositoryName, layerDigests: digests }));
}

describe('InitiateLayerUpload', () => {
  test('returns a UUID uploadId and partSize 10485760', async () => {
    const out = await h.client.send(new InitiateLayerUploadCommand({ repositoryName: repo }));
    expect(out.uploadId).toMatch(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/);
    expect(out.partSize).toBe(PART_SIZE);
    const again = await h.client.send(new InitiateLayerUploadCommand({ repositoryName: repo }));
    expect(again.uploadId).not.toBe(out.uploadId);
  });

  test('an unknown repository is RepositoryNotFoundException', async () => {
    await expectError(h.client.send(new InitiateLayerUploadCommand({ repositoryName: uniqueName('missing') })), 'RepositoryNotFoundException');
  });

  test('registryId may be the account or the alias; anything else is RegistryNotFoundException', async () => {
    await h.client.send(new InitiateLayerUploadCommand({ repositoryName: repo, registryId: h.emu.accountId }));
    await h.client.send(new InitiateLayerUploadCommand({ repositoryName: repo, registryId: await registryAlias(h.client) }));
    await expectError(h.client.send(new InitiateLayerUploadCommand({ repositoryName: repo, registryId: '999999999999' })), 'RegistryNotFoundException');
    await expectError(h.client.send(new InitiateLayerUploadCommand({ repositoryName: repo, registryId: 'no-such-alias' })), 'RegistryNotFoundException');
  });

  test('registryId shorter than 2 or longer than 50 characters is invalid', async () => {
    await expectInvalidParameter(h.client.send(new InitiateLayerUploadCommand({ repositoryName: repo, registryId: 'x' })), 'registryId');
    await expectInvalidParameter(h.client.send(new InitiateLayerUploadCommand({ repositoryName: repo, registryId: 'x'.repeat(51) })), 'registryId');
  });

  test('an invalid repository name is InvalidParameterException', async () => {
    await expectInvalidParameter(h.client.send(new InitiateLayerUploadCommand({ repositoryName: 'NOPE' })), 'repositoryName');
  });
});

describe('UploadLayerPart', () => {
  test('returns lastByteReceived and echoes the ids', async () => {
    const uploadId = await initiate();
    const out = await part(uploadId, 0, randomBytes(1000));
    expect(out).toMatchObject({ registryId: h.emu.accountId, repositoryName: repo, uploadId, lastByteReceived: 999 });
    const out2 = await part(uploadId, 1000, randomBytes(24));
    expect(out2.lastByteReceived).toBe(1023);
  });

  test('a first part not starting at 0 is InvalidLayerPartException without lastValidByteReceived', async () => {
    const uploadId = await initiate();
    const err = await expectError(part(uploadId, 5, randomBytes(10)), 'InvalidLayerPartException');
    expect(err.lastValidByteReceived).toBeUndefined();
    expect(err.$metadata.httpStatusCode).toBe(400);
  });

  test('a gap is InvalidLayerPartException carrying lastValidByteReceived, and the upload can resume', async () => {
    const uploadId = await initiate();
    const a = randomBytes(MIN_PART);
    const b = randomBytes(100);
    await part(uploadId, 0, a);
    const err = await expectError(part(uploadId, MIN_PART + 10, b), 'InvalidLayerPartException');
    expect(err.lastValidByteReceived).toBe(MIN_PART - 1);
    expect(err.uploadId).toBe(uploadId);
    expect(err.repositoryName).toBe(repo);
    expect(err.registryId).toBe(h.emu.accountId);
    // resume at lastValidByteReceived + 1
    await part(uploadId, err.lastValidByteReceived + 1, b);
    const done = await complete(uploadId, [sha256(Buffer.concat([a, b]))]);
    expect(done.layerDigest).toBe(sha256(Buffer.concat([a, b])));
  });

  test('re-sending an already received part is InvalidLayerPartException', async () => {
    const uploadId = await initiate();
    const a = randomBytes(300);
    await part(uploadId, 0, a);
    const err = await expectError(part(uploadId, 0, a), 'InvalidLayerPartException');
    expect(err.lastValidByteReceived).toBe(299);
    // an overlapping part too
    const err2 = await expectError(part(uploadId, 200, randomBytes(200)), 'InvalidLayerPartException');
    expect(err2.lastValidByteReceived).toBe(299);
    // the upload is intact: completing yields the digest of the first part only
    const done = await complete(uploadId, [sha256(a)]);
    expect(done.layerDigest).toBe(sha256(a));
  });

  test('a length that does not match the byte range is InvalidLayerPartException', async () => {
    const uploadId = await initiate();
    await expectError(part(uploadId, 0, randomBytes(50), { partLastByte: 99 }), 'InvalidLayerPartException');
    await expectError(part(uploadId, 0, randomBytes(50), { partLastByte: 10 }), 'InvalidLayerPartException');
    await part(uploadId, 0, randomBytes(50));
    const err = await expectError(part(uploadId, 50, randomBytes(50), { partLastByte: 120 }), 'InvalidLayerPartException');
    expect(err.lastValidByteReceived).toBe(49);
  });

  test('partLastByte before partFirstByte is rejected', async () => {
    const uploadId = await initiate();
    await part(uploadId, 0, randomBytes(10));
    const err = await h.client.send(new UploadLayerPartCommand({
      repositoryName: repo, uploadId, partFirstByte: 10, partLastByte: 5, layerPartBlob: randomBytes(10),
    })).then(() => undefined, (e) => e);
    expect(['InvalidLayerPartException', 'InvalidParameterException']).toContain(err?.name);
  });

  test('a part of exactly partSize is accepted; a part of partSize + 1 is InvalidLayerPartException', async () => {
    const ok = await initiate();
    const big = randomBytes(PART_SIZE);
    const out = await part(ok, 0, big);
    expect(out.lastByteReceived).toBe(PART_SIZE - 1);
    const uploadId = await initiate();
    await expectError(part(uploadId, 0, randomBytes(PART_SIZE + 1)), 'InvalidLayerPartException');
  });

  test('a part over 20971520 bytes violates the model constraint', async () => {
    const uploadId = await initiate();
    await expectInvalidParameter(part(uploadId, 0, randomBytes(20971521)), 'layerPartBlob');
  });

  test('negative byte positions violate the model constraint', async () => {
    const uploadId = await initiate();
    await expectInvalidParameter(h.client.send(new UploadLayerPartCommand({
      repositoryName: repo, uploadId, partFirstByte: -1, partLastByte: 8, layerPartBlob: randomBytes(10),
    })), 'partFirstByte');
  });

  test('missing required members are InvalidParameterException', async () => {
    const uploadId = await initiate();
    await expectInvalidParameter(h.client.send(new UploadLayerPartCommand({
      repositoryName: repo, uploadId, partFirstByte: 0, partLastByte: 9,
    } as UploadLayerPartCommandInput)), 'layerPartBlob');
    await expectInvalidParameter(h.client.send(new UploadLayerPartCommand({
      repositoryName: repo, uploadId, partLastByte: 9, layerPartBlob: randomBytes(10),
    } as unknown as UploadLayerPartCommandInput)), 'partFirstByte');
    await expectInvalidParameter(h.client.send(new UploadLayerPartCommand({
      repositoryName: repo, partFirstByte: 0, partLastByte: 9, layerPartBlob: randomBytes(10),
    } as unknown as UploadLayerPartCommandInput)), 'uploadId');
  });

  test('a malformed uploadId violates the pattern', async () => {
    await expectInvalidParameter(part('not-a-uuid', 0, randomBytes(10)), 'uploadId');
  });

  test('an unknown uploadId is UploadNotFoundException', async () => {
    await expectError(part(randomUploadId(), 0, randomBytes(10)), 'UploadNotFoundException');
  });

  test('an upload of another repository is UploadNotFoundException', async () => {
    const other = await createRepo(h.client, uniqueName('other'));
    const uploadId = await initiate(other);
    await expectError(part(uploadId, 0, randomBytes(10)), 'UploadNotFoundException');
  });

  test('more than 1000 parts is LimitExceededException', async () => {
    const uploadId = await initiate();
    for (let i = 0; i < 1000; i++) {
      await part(uploadId, i, Buffer.from([i % 256]));
    }
    await expectError(part(uploadId, 1000, Buffer.from([1])), 'LimitExceededException');
  });
});

describe('CompleteLayerUpload', () => {
  test('a 3-part upload (5 MiB, 5 MiB, 1 KiB) completes with the right digest', async () => {
    const data = randomBytes(2 * MIN_PART + 1024);
    const digest = sha256(data);
    const before = await check([digest]);
    expect(before.layers).toHaveLength(1);
    expect(before.layers![0]).toMatchObject({ layerDigest: digest, layerAvailability: 'UNAVAILABLE' });
    expect(before.failures ?? []).toEqual([]);

    const uploadId = await initiate();
    await part(uploadId, 0, data.subarray(0, MIN_PART));
    await part(uploadId, MIN_PART, data.subarray(MIN_PART, 2 * MIN_PART));
    const last = await part(uploadId, 2 * MIN_PART, data.subarray(2 * MIN_PART));
    expect(last.lastByteReceived).toBe(data.length - 1);
    const done = await complete(uploadId, [digest]);
    expect(done).toMatchObject({ registryId: h.emu.accountId, repositoryName: repo, uploadId, layerDigest: digest });

    const after = await check([digest]);
    expect(after.layers).toHaveLength(1);
    expect(after.layers![0]).toMatchObject({ layerDigest: digest, layerAvailability: 'AVAILABLE', layerSize: data.length });
    expect(after.failures ?? []).toEqual([]);
  });

  test('a completed upload cannot be completed or continued again', async () => {
    const data = randomBytes(200);
    const uploadId = await initiate();
    await part(uploadId, 0, data);
    await complete(uploadId, [sha256(data)]);
    await expectError(complete(uploadId, [sha256(data)]), 'UploadNotFoundException');
    await expectError(part(uploadId, 200, randomBytes(10)), 'UploadNotFoundException');
  });

  test('an unknown uploadId is UploadNotFoundException', async () => {
    await expectError(complete(randomUploadId(), [sha256(randomBytes(10))]), 'UploadNotFoundException');
  });

  test('an upload of another repository is UploadNotFoundException', async () => {
    const other = await createRepo(h.client, uniqueName('other'));
    const uploadId = await h.client.send(new InitiateLayerUploadCommand({ repositoryName: other })).then((o) => o.uploadId!);
    const data = randomBytes(10);
    await h.client.send(new UploadLayerPartCommand({
      repositoryName: other, uploadId, partFirstByte: 0, partLastByte: 9, layerPartBlob: data,
    }));
    await expectError(complete(uploadId, [sha256(data)]), 'UploadNotFoundException');
    // still completable in its own repository
    const done = await h.client.send(new CompleteLayerUploadCommand({ repositoryName: other, uploadId, layerDigests: [sha256(data)] }));
    expect(done.layerDigest).toBe(sha256(data));
  });

  test('no parts is EmptyUploadException and the upload stays open', async () => {
    const uploadId = await initiate();
    const err = await expectError(complete(uploadId, [sha256(Buffer.alloc(0))]), 'EmptyUploadException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    const data = randomBytes(77);
    await part(uploadId, 0, data);
    const done = await complete(uploadId, [sha256(data)]);
    expect(done.layerDigest).toBe(sha256(data));
  });

  test('a non-final part under 5 MiB is LayerPartTooSmallException and ends the upload', async () => {
    const uploadId = await initiate();
    const a = randomBytes(MIN_PART - 1);
    const b = randomBytes(10);
    await part(uploadId, 0, a);
    await part(uploadId, a.length, b);
    await expectError(complete(uploadId, [sha256(Buffer.concat([a, b]))]), 'LayerPartTooSmallException');
    await expectError(complete(uploadId, [sha256(Buffer.concat([a, b]))]), 'UploadNotFoundException');
  });

  test('a small single part is fine (only non-final parts have a minimum)', async () => {
    const data = randomBytes(1);
    const uploadId = await initiate();
    await part(uploadId, 0, data);
    expect((await complete(uploadId, [sha256(data)])).layerDigest).toBe(sha256(data));
  });

  test('a digest mismatch is InvalidLayerException and ends the upload', async () => {
    const data = randomBytes(100);
    const uploadId = await initiate();
    await part(uploadId, 0, data);
    await expectError(complete(uploadId, [sha256(randomBytes(100))]), 'InvalidLayerException');
    await expectError(complete(uploadId, [sha256(data)]), 'UploadNotFoundException');
    const avail = await check([sha256(data)]);
    expect(avail.layers?.[0]?.layerAvailability).toBe('UNAVAILABLE');
  });

  test('one matching digest among several is enough', async () => {
    const data = randomBytes(100);
    const uploadId = await initiate();
    await part(uploadId, 0, data);
    const done = await complete(uploadId, [sha256(randomBytes(3)), sha256(data)]);
    expect(done.layerDigest).toBe(sha256(data));
  });

  test('a blob already in the repository is LayerAlreadyExistsException', async () => {
    const data = randomBytes(100);
    await uploadTestBlob(h.client, repo, data);
    const uploadId = await initiate();
    await part(uploadId, 0, data);
    await expectError(complete(uploadId, [sha256(data)]), 'LayerAlreadyExistsException');
    await expectError(complete(uploadId, [sha256(data)]), 'UploadNotFoundException');
  });

  test('the same blob may be uploaded to another repository', async () => {
    const data = randomBytes(100);
    await uploadTestBlob(h.client, repo, data);
    const other = await createRepo(h.client, uniqueName('other'));
    expect(await uploadTestBlob(h.client, other, data)).toBe(sha256(data));
  });

  test('checks run in the documented order', async () => {
    // a too-small non-final part wins over a digest mismatch
    const a = await initiate();
    await part(a, 0, randomBytes(100));
    await part(a, 100, randomBytes(100));
    await expectError(complete(a, [sha256(randomBytes(8))]), 'LayerPartTooSmallException');
    // a digest mismatch wins over an existing blob
    const existing = randomBytes(150);
    await uploadTestBlob(h.client, repo, existing);
    const b = await initiate();
    await part(b, 0, existing);
    await expectError(complete(b, [sha256(randomBytes(8))]), 'InvalidLayerException');
    // an unknown upload wins over everything
    await expectError(complete(randomUploadId(), ['sha256:' + 'a'.repeat(64)]), 'UploadNotFoundException');
    // an empty upload is reported before a digest mismatch
    const c = await initiate();
    await expectError(complete(c, [sha256(randomBytes(8))]), 'EmptyUploadException');
  });

  test('uploads of a deleted repository are gone', async () => {
    const other = await createRepo(h.client, uniqueName('deleted'));
    const uploadId = await h.client.send(new InitiateLayerUploadCommand({ repositoryName: other })).then((o) => o.uploadId!);
    const data = randomBytes(10);
    await h.client.send(new UploadLayerPartCommand({ repositoryName: other, uploadId, partFirstByte: 0, partLastByte: 9, layerPartBlob: data }));
    await h.client.send(new DeleteRepositoryCommand({ repositoryName: other }));
    await expectError(h.client.send(new CompleteLayerUploadCommand({
      repositoryName: other, uploadId, layerDigests: [sha256(data)],
    })), 'RepositoryNotFoundException');
    await createRepo(h.client, other);
    await expectError(h.client.send(new CompleteLayerUploadCommand({
      repositoryName: other, uploadId, layerDigests: [sha256(data)],
    })), 'UploadNotFoundException');
  });

  test('blobs are deleted with the repository', async () => {
    const other = await createRepo(h.client, uniqueName('deleted'));
    const digest = await uploadTestBlob(h.client, other, randomBytes(20));
    await h.client.send(new DeleteRepositoryCommand({ repositoryName: other, force: true }));
    await createRepo(h.client, other);
    const out = await check([digest], other);
    expect(out.layers?.[0]?.layerAvailability).toBe('UNAVAILABLE');
  });

  test('layerDigests constraints', async () => {
    const uploadId = await initiate();
    await part(uploadId, 0, randomBytes(10));
    await expectInvalidParameter(complete(uploadId, []), 'layerDigests');
    await expectInvalidParameter(complete(uploadId, Array.from({ length: 101 }, () => sha256(randomBytes(4)))), 'layerDigests');
    await expectInvalidParameter(complete(uploadId, [sha256(randomBytes(4)), 'not-a-digest']), 'layerDigests[1]');
    await expectInvalidParameter(complete(uploadId, ['sha256:xyz']), 'layerDigests[0]');
    await expectInvalidParameter(
      h.client.send(new CompleteLayerUploadCommand({ repositoryName: repo, uploadId } as CompleteLayerUploadCommandInput)),
      'layerDigests',
    );
  });

  test('registryId: the alias works, an unknown one is RegistryNotFoundException', async () => {
    const alias = await registryAlias(h.client);
    const data = randomBytes(33);
    const viaAlias = await h.client.send(new InitiateLayerUploadCommand({ repositoryName: repo, registryId: alias }));
    await part(viaAlias.uploadId!, 0, data, { registryId: alias });
    expect((await complete(viaAlias.uploadId!, [sha256(data)], { registryId: alias })).layerDigest).toBe(sha256(data));
    const uploadId = await initiate();
    await part(uploadId, 0, randomBytes(5));
    await expectError(complete(uploadId, [sha256(randomBytes(5))], { registryId: '000000000000' }), 'RegistryNotFoundException');
    await expectError(part(uploadId, 5, randomBytes(5), { registryId: '000000000000' }), 'RegistryNotFoundException');
  });
});

describe('BatchCheckLayerAvailability', () => {
  test('absent → UNAVAILABLE, malformed → InvalidLayerDigest, empty → MissingLayerDigest', async () => {
    const present = randomBytes(321);
    const presentDigest = await uploadTestBlob(h.client, repo, present);
    const absent = sha256(randomBytes(5));
    const out = await check([presentDigest, absent, 'sha256:nothex', 'nocolon', '']);
    expect(out.layers).toHaveLength(2);
    expect(out.layers!.find((l) => l.layerDigest === presentDigest)).toMatchObject({ layerAvailability: 'AVAILABLE', layerSize: 321 });
    expect(out.layers!.find((l) => l.layerDigest === absent)).toMatchObject({ layerAvailability: 'UNAVAILABLE' });
    const failures = out.failures!;
    expect(failures).toHaveLength(3);
    expect(failures.find((f) => f.layerDigest === 'sha256:nothex')?.failureCode).toBe('InvalidLayerDigest');
    expect(failures.find((f) => f.layerDigest === 'nocolon')?.failureCode).toBe('InvalidLayerDigest');
    expect(failures.find((f) => f.failureCode === 'MissingLayerDigest')).toBeDefined();
    for (const f of failures) expect(typeof f.failureReason).toBe('string');
  });

  test('blobs are per repository', async () => {
    const data = randomBytes(64);
    const digest = await uploadTestBlob(h.client, repo, data);
    const other = await createRepo(h.client, uniqueName('other'));
    const inOther = await check([digest], other);
    expect(inOther.layers).toHaveLength(1);
    expect(inOther.layers![0]).toMatchObject({ layerDigest: digest, layerAvailability: 'UNAVAILABLE' });
    const inRepo = await check([digest]);
    expect(inRepo.layers?.[0]).toMatchObject({ layerDigest: digest, layerAvailability: 'AVAILABLE', layerSize: 64 });
  });

  test('list size and item length constraints', async () => {
    await expectInvalidParameter(check([]), 'layerDigests');
    await expectInvalidParameter(check(Array.from({ length: 101 }, () => sha256(randomBytes(4)))), 'layerDigests');
    await expectInvalidParameter(check([sha256(randomBytes(4)), 'sha256:' + 'a'.repeat(994)]), 'layerDigests[1]');
    const ok = await check(Array.from({ length: 100 }, () => sha256(randomBytes(4))));
    expect(ok.layers).toHaveLength(100);
    const longest = 'sha256:' + 'a'.repeat(993);
    const edge = await check([longest]);
    expect(edge.layers?.[0]).toMatchObject({ layerDigest: longest, layerAvailability: 'UNAVAILABLE' });
  });

  test('unknown repository and registry', async () => {
    await expectError(check([sha256(randomBytes(4))], uniqueName('missing')), 'RepositoryNotFoundException');
    await expectError(h.client.send(new BatchCheckLayerAvailabilityCommand({
      repositoryName: repo, registryId: '999999999999', layerDigests: [sha256(randomBytes(4))],
    })), 'RegistryNotFoundException');
    const viaAlias = await h.client.send(new BatchCheckLayerAvailabilityCommand({
      repositoryName: repo, registryId: await registryAlias(h.client), layerDigests: [sha256(randomBytes(4))],
    }));
    expect(viaAlias.layers?.[0]?.layerAvailability).toBe('UNAVAILABLE');
  });
});

test('an 11 MiB blob in two parts (partSize, then 1 MiB)', async () => {
  const data = randomBytes(PART_SIZE + MIB);
  const uploadId = await initiate();
  expect((await part(uploadId, 0, data.subarray(0, PART_SIZE))).lastByteReceived).toBe(PART_SIZE - 1);
  expect((await part(uploadId, PART_SIZE, data.subarray(PART_SIZE))).lastByteReceived).toBe(PART_SIZE + MIB - 1);
  expect((await complete(uploadId, [sha256(data)])).layerDigest).toBe(sha256(data));
});
