import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { VersionRepository } from '../../ports/store.ts';
import {
  checkVersionRecordState,
  parseStoredVersionRecord,
  storedVersionState,
  VersionConditionPart,
  versionConditionPart,
  versionPutWhat,
} from '../../ports/version-record-rules.ts';
import { type DynamoContext, storeCall } from './dynamo-context.ts';
import { ExpressionBuilder } from './expression-builder.ts';
import { fromItem } from './item-codec.ts';
import { ENTITY_ATTRIBUTE, Entity, itemKey, PARTITION_KEY, VERSION_RECORD_ID } from './table-schema.ts';
import { getItem } from './versioned-item.ts';

/**
 * Named parts of a version-record write's condition (the same names MemoryStore reports): a first write
 * requires that no record exists, every later one the revision that was read.
 */
export const versionConditionParts = {
  [VersionConditionPart.absent]: (b: ExpressionBuilder) => `attribute_not_exists(${b.name(PARTITION_KEY)})`,
  [VersionConditionPart.revision]: (b: ExpressionBuilder, revision: number) =>
    `${b.name('revision')} = ${b.value(revision)}`,
} as const;

/**
 * `VERSION#actions-runner`: the runner version record, one whole-item put per change under a revision
 * number. Read with a consistent read and validated; a record that fails is `VersionRecordCorruptError`.
 */
export function createDynamoVersions(ctx: DynamoContext): VersionRepository {
  const key = itemKey(Entity.version, VERSION_RECORD_ID);
  return {
    async get() {
      const item = await getItem<Record<string, unknown>>(ctx, key, 'version record get');
      return item === undefined ? undefined : parseStoredVersionRecord(item);
    },
    async put(record, expectRevision, now) {
      checkVersionRecordState(record);
      const b = new ExpressionBuilder();
      b.condition(
        versionConditionPart(expectRevision) === VersionConditionPart.absent
          ? versionConditionParts.absent(b)
          : versionConditionParts.revision(b, expectRevision),
      );
      const { ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues } = b.params();
      const item = {
        ...storedVersionState(record),
        revision: expectRevision + 1,
        updatedAt: now,
        ...key,
        [ENTITY_ATTRIBUTE]: Entity.version,
      };
      await storeCall(versionPutWhat(expectRevision), () =>
        ctx.doc.send(
          new PutCommand({
            TableName: ctx.tableName,
            Item: item,
            ConditionExpression,
            ExpressionAttributeNames,
            ...(ExpressionAttributeValues === undefined ? {} : { ExpressionAttributeValues }),
          }),
        ),
      );
      return parseStoredVersionRecord(fromItem(item));
    },
  };
}
