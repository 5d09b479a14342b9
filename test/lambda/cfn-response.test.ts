import { customResourceHandler, HandlerResult } from '../../lambda/shared/cfn-response';
import { CREATE_FAILED_MARKER } from '../../src/shared/handler-contract';
import { createEvent, deleteEvent, invoke, updateEvent, useHandlerHarness } from '../support/handler-harness';

const h = useHandlerHarness();
const TYPE = 'Custom::Test';

interface Props {
  readonly Value?: string;
}

/** A handler whose function records its calls and does what `behaviour` says. */
function fakeHandler(behaviour: () => Promise<HandlerResult>) {
  const calls: string[] = [];
  const handler = customResourceHandler<Props>(async (event) => {
    calls.push(event.RequestType);
    return behaviour();
  });
  return { handler, calls };
}

describe('customResourceHandler', () => {
  test('a success is PUT with an empty content type, the physical id and the data', async () => {
    const { handler } = fakeHandler(async () => ({ physicalResourceId: 'phys-1', data: { Answer: '42' } }));
    const event = createEvent<Props>(h, TYPE, { Value: 'x' });
    const res = await invoke(h, handler, event);
    expect(res).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: 'phys-1',
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: 'Resource',
      Data: { Answer: '42' },
    });
    const captured = h.responses.get(event.RequestId)![0];
    // S3 checks a pre-signed PUT's content type against the signature, which was made without one.
    expect(captured.headers['content-type']).toBe('');
  });

  test('a failed Create reports the error name and message and the CREATE_FAILED marker', async () => {
    const err = new Error('the repository is on fire');
    err.name = 'RepositoryOnFireException';
    const { handler } = fakeHandler(async () => { throw err; });
    const res = await invoke(h, handler, createEvent<Props>(h, TYPE, {}));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toBe('RepositoryOnFireException: the repository is on fire');
    expect(res.PhysicalResourceId).toBe(CREATE_FAILED_MARKER);
    expect(res.Data).toBeUndefined();
  });

  test('a failed Update or Delete keeps the physical id', async () => {
    const { handler } = fakeHandler(async () => { throw new TypeError('boom'); });
    const update = await invoke(h, handler, updateEvent<Props>(h, TYPE, 'phys-2', { Value: 'b' }, { Value: 'a' }));
    expect({ status: update.Status, id: update.PhysicalResourceId, reason: update.Reason }).toEqual({ status: 'FAILED', id: 'phys-2', reason: 'TypeError: boom' });
    const del = await invoke(h, handler, deleteEvent<Props>(h, TYPE, 'phys-2', {}));
    expect({ status: del.Status, id: del.PhysicalResourceId }).toEqual({ status: 'FAILED', id: 'phys-2' });
  });

  test('a Delete of the CREATE_FAILED marker succeeds without calling the function', async () => {
    const { handler, calls } = fakeHandler(async () => { throw new Error('must not be called'); });
    const res = await invoke(h, handler, deleteEvent<Props>(h, TYPE, CREATE_FAILED_MARKER, {}));
    expect(res.Status).toBe('SUCCESS');
    expect(res.PhysicalResourceId).toBe(CREATE_FAILED_MARKER);
    expect(calls).toEqual([]);
  });

  test('a huge reason is cut so that the body stays under 4096 bytes, multi-byte characters included', async () => {
    const { handler } = fakeHandler(async () => { throw new Error('é"\\\u{1F600}'.repeat(3000)); });
    const event = createEvent<Props>(h, TYPE, {});
    const res = await invoke(h, handler, event);
    const captured = h.responses.get(event.RequestId)![0];
    expect(captured.bodyBytes).toBeLessThan(4096);
    expect(captured.bodyBytes).toBeGreaterThan(4000);
    expect(res.Reason!.startsWith('Error: é"\\\u{1F600}')).toBe(true);
    expect(res.Reason!.endsWith(' [truncated]')).toBe(true);
    // No lone surrogate from a split emoji.
    expect(res.Reason).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  test('a response PUT whose connection drops is retried', async () => {
    const { handler } = fakeHandler(async () => ({ physicalResourceId: 'phys-3' }));
    const event = createEvent<Props>(h, TYPE, {});
    h.dropNext.add(event.RequestId);
    const res = await invoke(h, handler, event);
    expect(h.dropNext.has(event.RequestId)).toBe(false);
    expect(res.Status).toBe('SUCCESS');
    expect(h.logs.some((l) => JSON.parse(l).responseRetry === 1)).toBe(true);
  });

  test('the event is logged without its ResponseURL, and the outcome is logged', async () => {
    const { handler } = fakeHandler(async () => ({ physicalResourceId: 'phys-4' }));
    const event = createEvent<Props>(h, TYPE, { Value: 'logged' });
    h.logs.length = 0;
    await invoke(h, handler, event);
    const entries = h.logs.map((l) => JSON.parse(l));
    expect(entries[0].event).toMatchObject({ RequestId: event.RequestId, ResourceProperties: { Value: 'logged' } });
    expect(entries[0].event.ResponseURL).toBeUndefined();
    expect(h.logs.join('\n')).not.toContain(h.responseBase);
    expect(entries[entries.length - 1]).toMatchObject({ outcome: 'SUCCESS', physicalResourceId: 'phys-4' });
  });
});
