import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionFailedError, type LockRepository } from '../../ports/store.ts';
import { type DynamoContext, storeCall } from './dynamo-context.ts';
import {
  ENTITY_ATTRIBUTE,
  Entity,
  EXPIRED_LEASE_RETENTION_MS,
  itemKey,
  PARTITION_KEY,
  TTL_ATTRIBUTE,
  ttlSeconds,
} from './table-schema.ts';
import { getItem } from './versioned-item.ts';

/** Runs a conditional write; false when its condition did not hold. */
async function conditional(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (error instanceof ConditionFailedError) return false;
    throw error;
  }
}

export function createDynamoLocks(ctx: DynamoContext): LockRepository {
  const { doc, tableName } = ctx;
  return {
    acquire(name, owner, now, ttlMs) {
      const leaseExpiresAt = now + ttlMs;
      return conditional(() =>
        storeCall(`lock ${name} acquire`, () =>
          doc.send(
            new PutCommand({
              TableName: tableName,
              Item: {
                ...itemKey(Entity.lock, name),
                [ENTITY_ATTRIBUTE]: Entity.lock,
                owner,
                leaseExpiresAt,
                [TTL_ATTRIBUTE]: ttlSeconds(leaseExpiresAt, EXPIRED_LEASE_RETENTION_MS),
              },
              // Free, expired (strictly before now), or already ours (renewal): same rule as job leases.
              ConditionExpression: 'attribute_not_exists(#pk) OR #leaseExpiresAt < :now OR #owner = :owner',
              ExpressionAttributeNames: {
                '#pk': PARTITION_KEY,
                '#leaseExpiresAt': 'leaseExpiresAt',
                '#owner': 'owner',
              },
              ExpressionAttributeValues: { ':now': now, ':owner': owner },
            }),
          ),
        ),
      );
    },

    async release(name, owner) {
      // Conditional so a late release by a previous owner never frees the lease a new owner took.
      await conditional(() =>
        storeCall(`lock ${name} release`, () =>
          doc.send(
            new DeleteCommand({
              TableName: tableName,
              Key: itemKey(Entity.lock, name),
              ConditionExpression: '#owner = :owner',
              ExpressionAttributeNames: { '#owner': 'owner' },
              ExpressionAttributeValues: { ':owner': owner },
            }),
          ),
        ),
      );
    },

    async getValue(name) {
      const item = await getItem<{ value: string }>(ctx, itemKey(Entity.value, name), `value ${name} get`);
      return item?.value;
    },

    async setValue(name, value, now) {
      await storeCall(`value ${name} set`, () =>
        doc.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...itemKey(Entity.value, name), [ENTITY_ATTRIBUTE]: Entity.value, value, updatedAt: now },
          }),
        ),
      );
    },

    mark(name, now, ttlMs) {
      const markedUntil = now + ttlMs;
      return conditional(() =>
        storeCall(`mark ${name}`, () =>
          doc.send(
            new PutCommand({
              TableName: tableName,
              Item: {
                ...itemKey(Entity.mark, name),
                [ENTITY_ATTRIBUTE]: Entity.mark,
                markedAt: now,
                markedUntil,
                [TTL_ATTRIBUTE]: ttlSeconds(markedUntil, EXPIRED_LEASE_RETENTION_MS),
              },
              // TTL deletes lazily, so an expired mark still present counts as absent.
              ConditionExpression: 'attribute_not_exists(#pk) OR #markedUntil < :now',
              ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#markedUntil': 'markedUntil' },
              ExpressionAttributeValues: { ':now': now },
            }),
          ),
        ),
      );
    },
  };
}
