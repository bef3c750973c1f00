import { performance } from 'node:perf_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PARTITION_KEY } from '../functions/adapters/dynamodb/table-schema.ts';

/** One request the server's store client sent. */
export interface StoreRequest {
  /** `performance.now()` when it was sent. */
  at: number;
  command: string;
  /**
   * What it touched: the item's partition key (`LOCK#reconciler`, `POOL#capped`, `JOB#12`), or for a
   * Query its index and key value (`gsi2 BACKLOG#capped#0`); `*` for batch requests.
   */
  target: string;
}

export interface StoreRequestLog {
  readonly requests: readonly StoreRequest[];
  reset(): void;
  detach(): void;
}

/** A key attribute as the request carries it: marshalled (`{ S: 'x' }`) or native (`'x'`, document client). */
function text(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (value && typeof value === 'object') {
    const v = value as { S?: unknown; N?: unknown };
    if (typeof v.S === 'string') return v.S;
    if (typeof v.N === 'string') return v.N;
  }
  return undefined;
}

function targetOf(input: {
  Key?: Record<string, unknown>;
  Item?: Record<string, unknown>;
  IndexName?: string;
  ExpressionAttributeValues?: Record<string, unknown>;
}): string {
  const pk = text(input.Key?.[PARTITION_KEY] ?? input.Item?.[PARTITION_KEY]);
  if (pk !== undefined) return pk;
  if (input.ExpressionAttributeValues) {
    const first = Object.values(input.ExpressionAttributeValues)[0];
    return `${input.IndexName ?? 'table'} ${text(first) ?? '?'}`;
  }
  return '*';
}

/**
 * Logs every request `client` sends, with its time and what it touched, so a phase can tell which requests
 * fell in a window and which part of the product sent them (a reconcile run is bracketed by its lease on
 * `LOCK#reconciler`). Same place in the stack as `countStoreRequests`: each attempt of a retry is one entry.
 */
export function logStoreRequests(client: DynamoDBClient): StoreRequestLog {
  const name = `jit-runners-bench-request-log-${Math.random().toString(36).slice(2)}`;
  let requests: StoreRequest[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      requests.push({
        at: performance.now(),
        command: String(context.commandName ?? 'unknown'),
        target: targetOf(args.input as Parameters<typeof targetOf>[0]),
      });
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name },
  );
  return {
    get requests() {
      return requests;
    },
    reset() {
      requests = [];
    },
    detach() {
      client.middlewareStack.remove(name);
    },
  };
}
