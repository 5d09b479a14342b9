/**
 * The state as operations see it: the records themselves behind proxies that report every change before it is made,
 * so that the store knows which records a change touched (to write only those, and to put them back when the change
 * cannot be stored) without the operations saying so.
 *
 * Records are the units the store writes and restores: the registry, each repository (its own fields in one record,
 * its blobs, images and tags in a second, `contents`, so that a push does not rewrite the catalog texts), and each
 * upload. A change anywhere inside a record, at any depth, is a change of that record.
 */
import { RepositoryRecord, State } from './model';

/** A top-level record, the unit restored on rollback: `registry`, `repository/<name>` or `upload/<id>`. */
export type TopKey = string;
/** A record file, the unit written: `registry`, `repository/<name>`, `contents/<name>` or `upload/<id>`. */
export type RecordKey = string;

/** Told of each change before it is made. */
export interface ChangeListener {
  /** The top-level record `top` is about to change. */
  beforeChange(top: TopKey): void;
  /** The record file `record` changes. */
  changed(record: RecordKey): void;
}

/** The members of a repository that live in its `contents` record. */
export const CONTENTS_MEMBERS: ReadonlySet<string> = new Set(['blobs', 'images', 'imageTags']);

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

export class TrackedState {
  /** The state to hand out: reads are the records' own values, changes are reported first. */
  public readonly state: State;
  private readonly proxies = new WeakMap<object, object>();
  private readonly targets = new WeakMap<object, object>();

  constructor(raw: State, private readonly listener: ChangeListener) {
    this.state = new Proxy(raw, {
      get: (t, p) => {
        if (p === 'registry') return this.nested(t.registry, 'registry', 'registry');
        if (p === 'repositories') return this.collection(t.repositories, 'repository');
        if (p === 'uploads') return this.collection(t.uploads, 'upload');
        return Reflect.get(t, p);
      },
      set: () => refuse(),
      deleteProperty: () => refuse(),
      defineProperty: () => refuse(),
    });
  }

  private wrap<T extends object>(target: T, make: () => ProxyHandler<T>): T {
    let proxy = this.proxies.get(target);
    if (!proxy) {
      proxy = new Proxy(target, make());
      this.proxies.set(target, proxy);
      this.targets.set(proxy, target);
    }
    return proxy as T;
  }

  /** A value stored into the state is stored as itself, not as the proxy an operation may hold. */
  private unwrap(value: unknown): unknown {
    return isObject(value) ? this.targets.get(value) ?? value : value;
  }

  /** The repositories or uploads dictionary: adding or removing an entry changes that entry's record. */
  private collection<T extends object>(target: T, kind: 'repository' | 'upload'): T {
    const touch = (key: string) => {
      this.listener.beforeChange(`${kind}/${key}`);
      this.listener.changed(`${kind}/${key}`);
      if (kind === 'repository') this.listener.changed(`contents/${key}`);
    };
    return this.wrap(target, () => ({
      get: (t, p) => {
        const value = Reflect.get(t, p);
        if (typeof p !== 'string' || !isObject(value) || !Object.prototype.hasOwnProperty.call(t, p)) return value;
        return kind === 'repository' ? this.repository(value as unknown as RepositoryRecord, p) : this.nested(value, `upload/${p}`, `upload/${p}`);
      },
      set: (t, p, value) => {
        if (typeof p === 'string') touch(p);
        return Reflect.set(t, p, this.unwrap(value));
      },
      deleteProperty: (t, p) => {
        if (typeof p === 'string' && Object.prototype.hasOwnProperty.call(t, p)) touch(p);
        return Reflect.deleteProperty(t, p);
      },
      defineProperty: (t, p, descriptor) => {
        if (typeof p === 'string') touch(p);
        return Reflect.defineProperty(t, p, { ...descriptor, value: this.unwrap(descriptor.value) });
      },
    }));
  }

  /** A repository: its blobs, images and tags belong to its `contents` record, the rest to its own. */
  private repository(target: RepositoryRecord, name: string): RepositoryRecord {
    const top = `repository/${name}`;
    const recordOf = (p: string | symbol) => (typeof p === 'string' && CONTENTS_MEMBERS.has(p) ? `contents/${name}` : top);
    return this.wrap(target, () => this.handler(top, recordOf));
  }

  /** Anything inside a record: a change at any depth is a change of `record`. */
  private nested<T extends object>(target: T, top: TopKey, record: RecordKey): T {
    return this.wrap(target, () => this.handler(top, () => record));
  }

  private handler<T extends object>(top: TopKey, recordOf: (p: string | symbol) => RecordKey): ProxyHandler<T> {
    const touch = (p: string | symbol) => {
      this.listener.beforeChange(top);
      this.listener.changed(recordOf(p));
    };
    return {
      get: (t, p) => {
        const value = Reflect.get(t, p);
        return isObject(value) && Object.prototype.hasOwnProperty.call(t, p) ? this.nested(value, top, recordOf(p)) : value;
      },
      set: (t, p, value) => {
        touch(p);
        return Reflect.set(t, p, this.unwrap(value));
      },
      deleteProperty: (t, p) => {
        if (Object.prototype.hasOwnProperty.call(t, p)) touch(p);
        return Reflect.deleteProperty(t, p);
      },
      defineProperty: (t, p, descriptor) => {
        touch(p);
        return Reflect.defineProperty(t, p, { ...descriptor, value: this.unwrap(descriptor.value) });
      },
    };
  }
}

function refuse(): never {
  throw new Error('The store state is changed record by record; its collections are never replaced');
}
