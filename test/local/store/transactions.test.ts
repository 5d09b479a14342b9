/**
 * The store's unit of change: what an operation changes is stored at `commit()`, or undone, in memory and on disk, if
 * the operation throws first or leaves its change uncommitted at the end of its synchronous step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { emptyRepository } from '../../../local/store/model';
import { Store } from '../../../local/store/store';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';

describe('the store', () => {
  let dir: string;
  let store: Store | undefined;

  beforeEach(() => {
    dir = makeTempDir('store-transactions-');
    store = Store.open(dir, 0);
  });

  afterEach(() => {
    store?.close();
    removeTempDir(dir);
  });

  function reopen(): Store {
    store!.close();
    store = Store.open(dir, 0);
    return store;
  }

  test('a transaction that throws leaves the records and the files as they were', () => {
    const s = store!;
    s.transaction(() => {
      s.state.repositories.kept = emptyRepository('kept', 1);
    });
    expect(() => s.transaction(() => {
      s.state.repositories.kept.policyText = 'changed';
      s.state.repositories.added = emptyRepository('added', 2);
      s.writeLogo('00000000-0000-0000-0000-000000000000.png', Buffer.from('logo'));
      throw new Error('refused half way');
    })).toThrow('refused half way');
    expect(Object.keys(s.state.repositories)).toEqual(['kept']);
    expect(s.state.repositories.kept.policyText).toBeUndefined();
    expect(fs.readdirSync(path.join(dir, 'logos'))).toEqual([]);
    expect(Object.keys(reopen().state.repositories)).toEqual(['kept']);
  });

  test('a change left uncommitted is undone at the end of the step that made it', async () => {
    const s = store!;
    s.state.registry.displayName = 'not committed';
    expect(s.state.registry.displayName).toBe('not committed');
    await new Promise((resolve) => setImmediate(resolve));
    expect(s.state.registry.displayName).toBeUndefined();
    s.state.registry.displayName = 'committed';
    s.commit();
    await new Promise((resolve) => setImmediate(resolve));
    expect(reopen().state.registry.displayName).toBe('committed');
  });

  test('an object put back by a rollback is the same object, so that holders of it still find it', () => {
    const s = store!;
    s.transaction(() => {
      s.state.repositories.held = emptyRepository('held', 1);
    });
    const held = s.state.repositories.held;
    expect(() => s.transaction(() => {
      delete s.state.repositories.held;
      throw new Error('no');
    })).toThrow('no');
    expect(s.state.repositories.held).toBe(held);
  });
});
