/**
 * JSON the deployer reads (templates, manifests, its own state) holds names chosen by users: logical ids, parameter,
 * condition and mapping names, property and attribute names. Parsed into objects without a prototype, a name such as
 * `constructor` or `toString` finds only what the document holds, and `__proto__` is an ordinary key.
 */

/** `JSON.parse(text)`, every object of the result without a prototype. */
export function parseJsonData(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    return Object.assign(Object.create(null) as Record<string, unknown>, value);
  });
}

/** A new empty object without a prototype, for records keyed by user data. */
export function dataRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
