/**
 * JSON the deployer reads (templates, manifests, its own state) holds names chosen by users: logical ids, parameter,
 * condition and mapping names, property and attribute names. Parsed into objects without a prototype, a name such as
 * `constructor` or `toString` finds only what the document holds, and `__proto__` is an ordinary key.
 */

import { dict } from '../dictionary';

/** `JSON.parse(text)`, every object of the result without a prototype. */
export function parseJsonData(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    return dict(value as Record<string, unknown>);
  });
}
