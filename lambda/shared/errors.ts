/**
 * Errors given more words while keeping their name, and the one way a handler prints an error's cause. A failure
 * reason starts with the error's name (the API's error code, what a reader searches the docs for), so every wrapped
 * error keeps it; the original stays reachable as `cause`.
 */

/** `err` with the message `compose` makes of its own, its name kept (a non-Error becomes an `Error` of its text). */
export function rewordError(err: unknown, compose: (message: string) => string): Error {
  if (!(err instanceof Error)) return new Error(compose(String(err)));
  const wrapped = new Error(compose(err.message), { cause: err });
  wrapped.name = err.name;
  return wrapped;
}

/** `err` with `context` (what was being done) put before its message. */
export function withContext(err: unknown, context: string): Error {
  return rewordError(err, (message) => `${context}: ${message}`);
}

/** `err` with `advice` (what to do about it) appended to its message as a sentence of its own. */
export function withAdvice(err: unknown, advice: string): Error {
  return rewordError(err, (message) => {
    const trimmed = message.trimEnd();
    return `${trimmed}${/[.!?]$/.test(trimmed) ? ' ' : '. '}${advice}`;
  });
}

/** What an error says, with its cause when it has one (undici hides the cause of `fetch failed` in `cause`). */
export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const detail = cause instanceof Error ? `${cause.name === 'Error' ? '' : `${cause.name}: `}${cause.message}` : '';
  return detail && !err.message.includes(detail) ? `${err.message} (${detail})` : err.message;
}
