/**
 * Memoises the cold-start work. Why forget a failure: a throttled secret read at cold start must not
 * leave the container failing every invocation until Lambda recycles it.
 */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
  let cached: Promise<T> | undefined;
  return () => {
    cached ??= build().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}
