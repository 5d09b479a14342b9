/** Rejected promises, checked: the one way a test takes the error a call fails with. */

/**
 * The error `promise` rejects with, checked to be an instance of `type` when given; fails the test when the promise
 * resolves instead.
 */
export async function expectRejection<E extends Error = Error>(
  promise: Promise<unknown>, type?: abstract new (...args: any[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (err) {
    if (type) expect(err).toBeInstanceOf(type);
    else expect(err).toBeInstanceOf(Error);
    return err as E;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** The name of the error `promise` rejects with (fails when it resolves). */
export async function errorName(promise: Promise<unknown>): Promise<string> {
  return (await expectRejection(promise)).name;
}
