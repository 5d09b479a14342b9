/**
 * The one dictionary of names a user or a client chooses (repositories, blobs, tags, uploads, logical ids, bucket
 * names): an object without a prototype, so that `__proto__`, `constructor`, `toString` and the like are keys like any
 * other. A plain `{}` would answer `constructor` with `Object` and swallow a write to `__proto__`.
 */

/** An object without a prototype, keyed by user-chosen strings. Create one with {@link dict} only. */
export type Dict<T> = Record<string, T>;

/** A new, empty {@link Dict}, or one holding the own entries of `entries` (a parsed JSON object). */
export function dict<T>(entries?: Record<string, T>): Dict<T> {
  const out = Object.create(null) as Dict<T>;
  // Assignment on a prototype-less object makes `__proto__` an own key, as JSON.parse made it.
  for (const key of Object.keys(entries ?? {})) out[key] = entries![key];
  return out;
}

/** Whether `key` is an own entry of `d` (also safe on a plain object). */
export function has(d: Dict<unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(d, key);
}
