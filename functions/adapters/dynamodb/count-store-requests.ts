import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { FinalizeRequestMiddleware, MetadataBearer } from '@smithy/types';

export interface StoreRequestCounter {
  /** Requests sent since creation or the last `reset`, retries included. */
  total(): number;
  /** The same, per operation (`PutItemCommand`, `UpdateItemCommand`, …). */
  byCommand(): Record<string, number>;
  reset(): void;
  /** Stops counting (removes the middleware). */
  detach(): void;
}

let counters = 0;

/**
 * A middleware counting each HTTP request. It sits late in the `finalizeRequest` step, inside the SDK's retry
 * loop, so a retried request counts every attempt: that is what DynamoDB bills and throttles.
 */
export function countingMiddleware(
  onRequest: (commandName: string) => void,
): FinalizeRequestMiddleware<object, MetadataBearer> {
  return (next, context) => (args) => {
    onRequest(String(context.commandName ?? 'unknown'));
    return next(args);
  };
}

/** Counts the requests sent through `client`, including those of document clients built from it. */
export function countStoreRequests(client: DynamoDBClient): StoreRequestCounter {
  const name = `jit-runners-request-counter-${++counters}`;
  let counts: Record<string, number> = {};
  client.middlewareStack.add(
    countingMiddleware((command) => {
      counts[command] = (counts[command] ?? 0) + 1;
    }),
    { step: 'finalizeRequest', priority: 'low', name },
  );
  return {
    total: () => Object.values(counts).reduce((sum, n) => sum + n, 0),
    byCommand: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
    detach: () => {
      client.middlewareStack.remove(name);
    },
  };
}
