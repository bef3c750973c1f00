import type { Breaker } from '../../domain/breaker.ts';
import type { BreakerRepository } from '../../ports/store.ts';
import type { DynamoContext } from './dynamo-context.ts';
import { Entity, itemKey } from './table-schema.ts';
import { getItem, putVersioned } from './versioned-item.ts';

export function createDynamoBreakers(ctx: DynamoContext): BreakerRepository {
  return {
    get: (scopeKey) => getItem<Breaker>(ctx, itemKey(Entity.breaker, scopeKey), `breaker ${scopeKey} get`),
    put: (breaker, expectVersion, now) =>
      putVersioned<Breaker>(
        ctx,
        { entity: Entity.breaker, key: itemKey(Entity.breaker, breaker.scopeKey), what: `breaker ${breaker.scopeKey}` },
        breaker,
        expectVersion,
        now,
      ),
  };
}
