import type { PoolCapacity } from '../../domain/pool-capacity.ts';
import type { PoolRepository } from '../../ports/store.ts';
import type { DynamoContext } from './dynamo-context.ts';
import { Entity, itemKey } from './table-schema.ts';
import { getItem, putVersioned } from './versioned-item.ts';

/** `POOL#<name>`: one read-modify-write record per capped pool (its slots and backlog rotation). */
export function createDynamoPools(ctx: DynamoContext): PoolRepository {
  return {
    get: (pool) => getItem<PoolCapacity>(ctx, itemKey(Entity.pool, pool), `pool ${pool} get`),
    put: (capacity, expectVersion, now) =>
      putVersioned<PoolCapacity>(
        ctx,
        { entity: Entity.pool, key: itemKey(Entity.pool, capacity.pool), what: `pool ${capacity.pool}` },
        capacity,
        expectVersion,
        now,
      ),
  };
}
