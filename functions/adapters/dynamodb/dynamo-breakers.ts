import type { Breaker } from '../../domain/breaker.ts';
import type { BreakerRepository } from '../../ports/store.ts';
import type { DynamoContext } from './dynamo-context.ts';
import { queryList } from './query-list.ts';
import { Entity, itemKey, ListName } from './table-schema.ts';
import { getItem, putVersioned } from './versioned-item.ts';

export function createDynamoBreakers(ctx: DynamoContext): BreakerRepository {
  return {
    get: (scopeKey) => getItem<Breaker>(ctx, itemKey(Entity.breaker, scopeKey), `breaker ${scopeKey} get`),
    // Listed for the operator views (`jit-runners status`, the status page). A breaker is written only when
    // its state changes, so the index write does not ride on every job.
    list: () => queryList<Breaker>(ctx, ListName.breakers, { keep: () => true }),
    put: (breaker, expectVersion, now) =>
      putVersioned<Breaker>(
        ctx,
        {
          entity: Entity.breaker,
          key: itemKey(Entity.breaker, breaker.scopeKey),
          list: ListName.breakers,
          what: `breaker ${breaker.scopeKey}`,
        },
        breaker,
        expectVersion,
        now,
      ),
  };
}
