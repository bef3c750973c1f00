import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type RunnerRecord, RunnerState } from '../../domain/runner-record.ts';
import type { RunnerRepository } from '../../ports/store.ts';
import { checkRunnerChanges, definedEntries } from '../../ports/store-rules.ts';
import { type DynamoContext, storeCall } from './dynamo-context.ts';
import { ExpressionBuilder } from './expression-builder.ts';
import { fromItem } from './item-codec.ts';
import { queryList } from './query-list.ts';
import {
  ENTITY_ATTRIBUTE,
  Entity,
  itemKey,
  LIST_INDEX,
  ListName,
  listKey,
  PARTITION_KEY,
  STOPPED_RUNNER_RETENTION_MS,
  TTL_ATTRIBUTE,
  ttlSeconds,
} from './table-schema.ts';
import { getItem } from './versioned-item.ts';

const runnerKey = (name: string) => itemKey(Entity.runner, name);

export function createDynamoRunners(ctx: DynamoContext): RunnerRepository {
  const { doc, tableName } = ctx;
  return {
    async put(runner, now) {
      const stopped = runner.state === RunnerState.stopped;
      const item = {
        ...runner,
        updatedAt: now,
        ...runnerKey(runner.name),
        [ENTITY_ATTRIBUTE]: Entity.runner,
        // Sorted by creation so `listActive` returns the oldest runners first; only live runners are listed.
        [LIST_INDEX.sortKey]: runner.createdAt,
        ...(stopped
          ? { [TTL_ATTRIBUTE]: ttlSeconds(now, STOPPED_RUNNER_RETENTION_MS) }
          : { [LIST_INDEX.partitionKey]: listKey(ListName.activeRunners, runner.name) }),
      };
      await storeCall(`runner ${runner.name} put`, () =>
        doc.send(new PutCommand({ TableName: tableName, Item: item })),
      );
    },

    get: (name) => getItem<RunnerRecord>(ctx, runnerKey(name), `runner ${name} get`),

    async update(name, set, now, expectState) {
      checkRunnerChanges(set);
      const b = new ExpressionBuilder();
      b.condition(`attribute_exists(${b.name(PARTITION_KEY)})`);
      if (expectState !== undefined) {
        b.condition(
          expectState.length === 0
            ? `attribute_not_exists(${b.name(PARTITION_KEY)})`
            : `${b.name('state')} IN (${expectState.map((s) => b.value(s)).join(', ')})`,
        );
      }
      for (const [field, value] of definedEntries(set)) b.set(field, value);
      b.set('updatedAt', now);
      if (set.state === RunnerState.stopped) {
        b.remove(LIST_INDEX.partitionKey);
        b.set(TTL_ATTRIBUTE, ttlSeconds(now, STOPPED_RUNNER_RETENTION_MS));
      } else if (set.state !== undefined) {
        // The same key for a runner already listed (its index entry does not change); a stopped one returns.
        b.set(LIST_INDEX.partitionKey, listKey(ListName.activeRunners, name));
        b.remove(TTL_ATTRIBUTE);
      }
      const what = `runner ${name} update${expectState === undefined ? '' : ' [exists, stateIn]'}`;
      const result = await storeCall(what, () =>
        doc.send(
          new UpdateCommand({ TableName: tableName, Key: runnerKey(name), ReturnValues: 'ALL_NEW', ...b.params() }),
        ),
      );
      if (!result.Attributes) throw new Error(`${what}: no attributes returned`);
      return fromItem<RunnerRecord>(result.Attributes);
    },

    listActive: () =>
      queryList<RunnerRecord>(ctx, ListName.activeRunners, { keep: (runner) => runner.state !== RunnerState.stopped }),
  };
}
