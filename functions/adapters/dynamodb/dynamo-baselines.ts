import type { Baseline } from '../../domain/baseline.ts';
import type { BaselineRepository } from '../../ports/store.ts';
import type { DynamoContext } from './dynamo-context.ts';
import { queryList } from './query-list.ts';
import { Entity, itemKey, ListName } from './table-schema.ts';
import { getItem, putVersioned } from './versioned-item.ts';

export function createDynamoBaselines(ctx: DynamoContext): BaselineRepository {
  return {
    get: (scopeKey) => getItem<Baseline>(ctx, itemKey(Entity.baseline, scopeKey), `baseline ${scopeKey} get`),
    // Baselines are few (one per served scope), so they sit in the listing index for `list`.
    list: () => queryList<Baseline>(ctx, ListName.baselines, { keep: () => true }),
    put: (baseline, expectVersion, now) =>
      putVersioned<Baseline>(
        ctx,
        {
          entity: Entity.baseline,
          key: itemKey(Entity.baseline, baseline.scopeKey),
          list: ListName.baselines,
          what: `baseline ${baseline.scopeKey}`,
        },
        baseline,
        expectVersion,
        now,
      ),
  };
}
