import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  GetAuthorizationTokenCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  PutRepositoryCatalogDataCommand,
  GetRepositoryCatalogDataCommand,
  SetRepositoryPolicyCommand,
  TagResourceCommand,
} from '@aws-sdk/client-ecr-public';
import {
  createRepo,
  expectError,
  expectRawError,
  Harness,
  isServiceError,
  pushImage,
  rawCall,
  repositoryArn,
  start,
  stop,
  useEmulator,
} from './support';

const NO_FAULTS = { throttleRate: 0, serverErrorRate: 0, dropRate: 0, latencyMs: 0 };

type Outcome = 'ok' | string;

async function outcome(client: ECRPUBLICClient): Promise<Outcome> {
  try {
    await client.send(new GetAuthorizationTokenCommand({}));
    return 'ok';
  } catch (e: any) {
    if (isServiceError(e)) return e.name;
    return 'dropped';
  }
}

async function sequence(h: Harness, n: number): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (let i = 0; i < n; i++) out.push(await outcome(h.client));
  return out;
}

describe('faults with rate 1.0', () => {
  const h = useEmulator();
  let repo: string;

  beforeAll(async () => {
    repo = await createRepo(h.client);
    await h.client.send(new PutRepositoryCatalogDataCommand({ repositoryName: repo, catalogData: { description: 'before' } }));
    await pushImage(h.client, repo, 'v1');
  });

  afterEach(() => {
    h.emu.setFaults(NO_FAULTS);
  });

  test('throttleRate 1: every call is ThrottlingException (400) and state is unchanged', async () => {
    h.emu.setFaults({ throttleRate: 1 });
    const c = h.client;
    const calls: Array<Promise<unknown>> = [
      c.send(new CreateRepositoryCommand({ repositoryName: 'throttled-new' })),
      c.send(new DeleteRepositoryCommand({ repositoryName: repo, force: true })),
      c.send(new PutRepositoryCatalogDataCommand({ repositoryName: repo, catalogData: { description: 'after' } })),
      c.send(new SetRepositoryPolicyCommand({ repositoryName: repo, policyText: '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"}]}' })),
      c.send(new TagResourceCommand({ resourceArn: repositoryArn(h.emu.accountId, repo), tags: [{ Key: 'a', Value: 'b' }] })),
      c.send(new DescribeRepositoriesCommand({})),
      c.send(new GetAuthorizationTokenCommand({})),
    ];
    for (const p of calls) {
      const err = await expectError(p, 'ThrottlingException');
      expect(err.$metadata.httpStatusCode).toBe(400);
    }
    // the raw shape too
    expectRawError(await rawCall(h.emu, 'DescribeRepositories'), 'ThrottlingException', 400);

    h.emu.setFaults(NO_FAULTS);
    await expectError(c.send(new DescribeRepositoriesCommand({ repositoryNames: ['throttled-new'] })), 'RepositoryNotFoundException');
    const still = await c.send(new DescribeRepositoriesCommand({ repositoryNames: [repo] }));
    expect(still.repositories).toHaveLength(1);
    const cat = await c.send(new GetRepositoryCatalogDataCommand({ repositoryName: repo }));
    expect(cat.catalogData?.description).toBe('before');
    await expectError(c.send(new GetRepositoryPolicyCommand({ repositoryName: repo })), 'RepositoryPolicyNotFoundException');
    const tags = await c.send(new ListTagsForResourceCommand({ resourceArn: repositoryArn(h.emu.accountId, repo) }));
    expect(tags.tags ?? []).toEqual([]);
  });

  test('serverErrorRate 1: every call is ServerException (500, server fault) and state is unchanged', async () => {
    h.emu.setFaults({ serverErrorRate: 1 });
    const err = await expectError(h.client.send(new CreateRepositoryCommand({ repositoryName: 'server-error-new' })), 'ServerException');
    expect(err.$metadata.httpStatusCode).toBe(500);
    expect(err.$fault).toBe('server');
    await expectError(h.client.send(new DeleteRepositoryCommand({ repositoryName: repo, force: true })), 'ServerException');
    expectRawError(await rawCall(h.emu, 'GetAuthorizationToken'), 'ServerException', 500);
    h.emu.setFaults(NO_FAULTS);
    await expectError(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: ['server-error-new'] })), 'RepositoryNotFoundException');
    expect((await h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [repo] }))).repositories).toHaveLength(1);
  });

  test('dropRate 1: the connection is dropped (no service error); about half the operations still ran', async () => {
    h.emu.setFaults({ dropRate: 1 });
    const names = Array.from({ length: 24 }, (_, i) => `dropped-${i}`);
    for (const name of names) {
      let failed = false;
      try {
        await h.client.send(new CreateRepositoryCommand({ repositoryName: name }));
      } catch (e) {
        failed = true;
        expect(isServiceError(e)).toBe(false);
      }
      expect(failed).toBe(true);
    }
    h.emu.setFaults(NO_FAULTS);
    const all = await h.client.send(new DescribeRepositoriesCommand({ maxResults: 1000 }));
    const created = all.repositories!.filter((r) => r.repositoryName!.startsWith('dropped-')).length;
    expect(created).toBeGreaterThan(0);
    expect(created).toBeLessThan(names.length);
  });

  test('faults do not apply to the pull API', async () => {
    h.emu.setFaults({ throttleRate: 1 });
    const res = await fetch(`${h.emu.endpoint}/v2/`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });

  test('latencyMs delays every API request', async () => {
    // A latency far above what a loaded machine adds, so that the comparison holds on a busy CI run.
    h.emu.setFaults({ latencyMs: 1500 });
    const t0 = Date.now();
    await h.client.send(new GetAuthorizationTokenCommand({}));
    const delayed = Date.now() - t0;
    expect(delayed).toBeGreaterThanOrEqual(1480);
    h.emu.setFaults(NO_FAULTS);
    const t1 = Date.now();
    await h.client.send(new GetAuthorizationTokenCommand({}));
    expect(Date.now() - t1).toBeLessThan(delayed - 1000);
  });
});

describe('seeded fault rates', () => {
  test('the same seed reproduces the same outcomes; rates are roughly honoured', async () => {
    const faults = { throttleRate: 0.3, serverErrorRate: 0.2, seed: 1234 };
    const a = await start({ faults });
    let seqA: Outcome[];
    try {
      seqA = await sequence(a, 80);
    } finally {
      await stop(a);
    }
    const b = await start({ faults });
    let seqB: Outcome[];
    try {
      seqB = await sequence(b, 80);
    } finally {
      await stop(b);
    }
    expect(seqB).toEqual(seqA);
    const count = (o: Outcome) => seqA.filter((x) => x === o).length;
    expect(seqA.every((x) => ['ok', 'ThrottlingException', 'ServerException'].includes(x))).toBe(true);
    expect(count('ThrottlingException')).toBeGreaterThanOrEqual(10);
    expect(count('ThrottlingException')).toBeLessThanOrEqual(40);
    expect(count('ServerException')).toBeGreaterThanOrEqual(4);
    expect(count('ServerException')).toBeLessThanOrEqual(30);
    expect(count('ok')).toBeGreaterThanOrEqual(20);
  });

  test('faults given at start apply; setFaults with zero rates turns them off', async () => {
    const c = await start({ faults: { throttleRate: 1, seed: 7 } });
    try {
      await expectError(c.client.send(new GetAuthorizationTokenCommand({})), 'ThrottlingException');
      c.emu.setFaults(NO_FAULTS);
      const out = await c.client.send(new GetAuthorizationTokenCommand({}));
      expect(out.authorizationData?.authorizationToken).toBeDefined();
    } finally {
      await stop(c);
    }
  });

  test('a different seed gives a different sequence', async () => {
    const run = async (seed: number) => {
      const x = await start({ faults: { throttleRate: 0.5, seed } });
      try {
        return await sequence(x, 40);
      } finally {
        await stop(x);
      }
    };
    expect(await run(1)).not.toEqual(await run(2));
  });
});
