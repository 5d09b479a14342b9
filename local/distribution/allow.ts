/**
 * HTTP's rule for 405 (RFC 9110, 15.5.6): the answer MUST carry `Allow`, the methods the resource does serve. The
 * routes know their methods; this adds them to whatever 405 a route's handlers answer.
 */
import { RegistryError } from './errors';

/**
 * `err` with `Allow: <methods>` (HEAD where GET is, since GET serves it) when it is a registry error answered 405;
 * anything else as it is. An empty list is an empty `Allow`: the path serves no method.
 */
export function withAllow(err: unknown, methods: Iterable<string>): unknown {
  if (!(err instanceof RegistryError) || err.status !== 405) return err;
  const allowed = [...methods].flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
  return new RegistryError(err.kind, err.message, { ...err.headers, Allow: allowed.join(', ') }, err.details);
}
