/** Runs work on several items at once, at most `concurrency` at a time. */

/**
 * Calls `fn` on every item, `concurrency` at a time. After a failure no new item is started; the ones running are
 * awaited (so that nothing is still in flight when the handler answers) and the first failure is thrown.
 */
export async function forEachConcurrent<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker);
  await Promise.all(workers);
  if (failure) throw failure.error;
}
