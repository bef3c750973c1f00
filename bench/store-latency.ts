import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Makes every request `client` sends take at least `latencyMs` from send to answer: the round trip to
 * DynamoDB. A floor rather than an added delay, because the in-memory stand-in spends real time of its
 * own (parsing expressions on the machine's other core) that DynamoDB would spend inside those same
 * milliseconds. It sits in `finalizeRequest` like the request counter, so every attempt (retries included)
 * pays it, as a real round trip would, and so does an answer that is an error (a failed condition).
 */
export function addStoreLatency(client: DynamoDBClient, latencyMs: number): void {
  if (latencyMs <= 0) return;
  client.middlewareStack.add(
    (next) => async (args) => {
      const started = performance.now();
      const pay = async () => {
        const left = latencyMs - (performance.now() - started);
        if (left >= 1) await new Promise((resolve) => setTimeout(resolve, left));
      };
      try {
        const answer = await next(args);
        await pay();
        return answer;
      } catch (error) {
        // A refused request (a failed condition, a throttle) is a round trip too.
        await pay();
        throw error;
      }
    },
    { step: 'finalizeRequest', name: 'jit-runners-bench-store-latency' },
  );
}
