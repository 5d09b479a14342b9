import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr-public';
import {
  authorizationHeader,
  createRepo,
  expectError,
  expectRawError,
  makeClient,
  rawCall,
  repositoryArn,
  uniqueName,
  useEmulator,
} from './support';

const h = useEmulator();

const ALL_OPERATIONS = [
  'BatchCheckLayerAvailability', 'BatchDeleteImage', 'CompleteLayerUpload', 'CreateRepository', 'DeleteRepository',
  'DeleteRepositoryPolicy', 'DescribeImageTags', 'DescribeImages', 'DescribeRegistries', 'DescribeRepositories',
  'GetAuthorizationToken', 'GetRegistryCatalogData', 'GetRepositoryCatalogData', 'GetRepositoryPolicy', 'InitiateLayerUpload',
  'ListTagsForResource', 'PutImage', 'PutRegistryCatalogData', 'PutRepositoryCatalogData', 'SetRepositoryPolicy', 'TagResource',
  'UntagResource', 'UploadLayerPart',
];

describe('success responses', () => {
  test('Content-Type and epoch-second timestamps', async () => {
    const name = uniqueName();
    const res = await rawCall(h.emu, 'CreateRepository', { body: { repositoryName: name } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-amz-json-1\.1/);
    expect(typeof res.json.repository.createdAt).toBe('number');
    expect(Math.abs(res.json.repository.createdAt - Date.now() / 1000)).toBeLessThan(60);
    expect(res.json.repository.repositoryName).toBe(name);
  });

  test('an empty body is accepted for GetAuthorizationToken and GetRegistryCatalogData', async () => {
    const res = await rawCall(h.emu, 'GetAuthorizationToken', { body: '' });
    expect(res.status).toBe(200);
    expect(typeof res.json.authorizationData.authorizationToken).toBe('string');
    expect(typeof res.json.authorizationData.expiresAt).toBe('number');
    await createRepo(h.client);
    const res2 = await rawCall(h.emu, 'GetRegistryCatalogData', { body: '' });
    expect(res2.status).toBe(200);
    expect(res2.json.registryCatalogData).toBeDefined();
  });

  test('an empty body is accepted for DescribeRepositories (no members)', async () => {
    const res = await rawCall(h.emu, 'DescribeRepositories', { body: '' });
    expect(res.status).toBe(200);
    expect(Array.isArray(res.json.repositories)).toBe(true);
  });

  test('TagResource answers 200 with an empty object or empty body', async () => {
    const name = await createRepo(h.client);
    const res = await rawCall(h.emu, 'TagResource', { body: { resourceArn: repositoryArn(h.emu.accountId, name), tags: [{ Key: 'a', Value: 'b' }] } });
    expect(res.status).toBe(200);
    expect(res.text === '' || JSON.stringify(res.json) === '{}').toBe(true);
  });

  test('Tag members are capitalised on the wire', async () => {
    const name = uniqueName();
    await rawCall(h.emu, 'CreateRepository', { body: { repositoryName: name, tags: [{ Key: 'k', Value: 'v' }] } });
    const res = await rawCall(h.emu, 'ListTagsForResource', { body: { resourceArn: repositoryArn(h.emu.accountId, name) } });
    expect(res.json.tags).toEqual([{ Key: 'k', Value: 'v' }]);
  });
});

describe('error responses', () => {
  test('shape: {"__type","message"}, x-amzn-errortype, HTTP 400', async () => {
    const res = await rawCall(h.emu, 'DescribeRepositories', { body: { repositoryNames: [uniqueName('missing')] } });
    expectRawError(res, 'RepositoryNotFoundException');
    expect(res.headers.get('content-type')).toMatch(/^application\/x-amz-json-1\.1/);
  });

  test('InvalidParameterException message format', async () => {
    const res = await rawCall(h.emu, 'CreateRepository', { body: { repositoryName: 'A' } });
    expectRawError(res, 'InvalidParameterException');
    expect(res.json.message).toMatch(/^Invalid parameter at 'repositoryName' failed to satisfy constraint: '.+'$/);
  });

  test('InvalidLayerPartException carries its extra members on the wire', async () => {
    const name = await createRepo(h.client);
    const init = await rawCall(h.emu, 'InitiateLayerUpload', { body: { repositoryName: name } });
    const uploadId = init.json.uploadId;
    const ok = await rawCall(h.emu, 'UploadLayerPart', {
      body: { repositoryName: name, uploadId, partFirstByte: 0, partLastByte: 3, layerPartBlob: Buffer.from('abcd').toString('base64') },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.lastByteReceived).toBe(3);
    const res = await rawCall(h.emu, 'UploadLayerPart', {
      body: { repositoryName: name, uploadId, partFirstByte: 10, partLastByte: 13, layerPartBlob: Buffer.from('efgh').toString('base64') },
    });
    expectRawError(res, 'InvalidLayerPartException');
    expect(res.json).toMatchObject({ registryId: h.emu.accountId, repositoryName: name, uploadId, lastValidByteReceived: 3 });
  });

  test('a missing Authorization header is MissingAuthenticationTokenException', async () => {
    const res = await rawCall(h.emu, 'DescribeRepositories', { region: null });
    expectRawError(res, 'MissingAuthenticationTokenException');
  });

  test('a credential scope in another region is UnsupportedCommandException', async () => {
    for (const region of ['eu-west-1', 'us-west-2']) {
      const res = await rawCall(h.emu, 'DescribeRepositories', { region });
      expectRawError(res, 'UnsupportedCommandException');
    }
  });

  test.each(ALL_OPERATIONS)('%s from an SDK client in eu-west-1 is UnsupportedCommandException', async (op) => {
    const res = await rawCall(h.emu, op, { region: 'eu-west-1', body: {} });
    expectRawError(res, 'UnsupportedCommandException');
  });

  test('an ECRPUBLICClient with region eu-west-1 gets UnsupportedCommandException', async () => {
    const client = makeClient(h.emu, 'eu-west-1');
    try {
      const name = uniqueName();
      const err = await expectError(client.send(new CreateRepositoryCommand({ repositoryName: name })), 'UnsupportedCommandException');
      expect(err.$metadata.httpStatusCode).toBe(400);
      await expectError(client.send(new GetAuthorizationTokenCommand({})), 'UnsupportedCommandException');
      await expectError(client.send(new ListTagsForResourceCommand({ resourceArn: repositoryArn(h.emu.accountId, name) })), 'UnsupportedCommandException');
      // nothing was created
      await expectError(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })), 'RepositoryNotFoundException');
    } finally {
      client.destroy();
    }
  });

  test('an unknown operation is UnknownOperationException', async () => {
    expectRawError(await rawCall(h.emu, 'SpencerFrontendService.BatchGetImage'), 'UnknownOperationException');
    expectRawError(await rawCall(h.emu, 'SpencerFrontendService.NoSuchThing'), 'UnknownOperationException');
    expectRawError(await rawCall(h.emu, 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories'), 'UnknownOperationException');
  });

  test('a body that is not JSON is SerializationException', async () => {
    expectRawError(await rawCall(h.emu, 'CreateRepository', { body: '{"repositoryName": ' }), 'SerializationException');
    expectRawError(await rawCall(h.emu, 'CreateRepository', { body: 'not json at all' }), 'SerializationException');
  });

  test('a member of the wrong JSON type is SerializationException', async () => {
    expectRawError(await rawCall(h.emu, 'CreateRepository', { body: { repositoryName: 42 } }), 'SerializationException');
    const name = await createRepo(h.client);
    expectRawError(await rawCall(h.emu, 'DeleteRepository', { body: { repositoryName: name, force: 'yes' } }), 'SerializationException');
    expectRawError(await rawCall(h.emu, 'DescribeRepositories', { body: { maxResults: '10' } }), 'SerializationException');
    expectRawError(await rawCall(h.emu, 'DescribeRepositories', { body: { repositoryNames: name } }), 'SerializationException');
    // the repository survived the bad DeleteRepository
    const ok = await rawCall(h.emu, 'DescribeRepositories', { body: { repositoryNames: [name] } });
    expect(ok.status).toBe(200);
  });

  test('a JSON body that is not an object is SerializationException', async () => {
    expectRawError(await rawCall(h.emu, 'DescribeRepositories', { body: '[]' }), 'SerializationException');
  });

  test('the Authorization header needs no valid signature', async () => {
    const res = await fetch(`${h.emu.endpoint}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'SpencerFrontendService.GetAuthorizationToken',
        'authorization': authorizationHeader('us-east-1'),
      },
      body: '{}',
    });
    expect(res.status).toBe(200);
  });
});
