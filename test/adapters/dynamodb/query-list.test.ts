import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { queryList } from '../../../functions/adapters/dynamodb/query-list.ts';
import { LIST_INDEX, ListName, PARTITION_KEY, SORT_KEY } from '../../../functions/adapters/dynamodb/table-schema.ts';

const doc = mockClient(DynamoDBDocumentClient);
const ctx = () => ({
  doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })),
  tableName: 't',
});
const entry = (jobId: number, sort: number) => ({
  [PARTITION_KEY]: `JOB#${jobId}`,
  [SORT_KEY]: 'JOB',
  [LIST_INDEX.sortKey]: sort,
});

describe('queryList', () => {
  beforeEach(() => doc.reset());

  it('reads an item the index lists twice once, so the BatchGetItem keys never repeat', async () => {
    // A stale entry (old sort key) beside the current one: what a process killed between an item's write
    // and its index update leaves in the embedded store. BatchGetItem refuses repeated keys.
    doc
      .on(QueryCommand)
      .resolves({ Items: [] })
      .on(QueryCommand, { ExpressionAttributeValues: { ':list': 'JOB_ENDED#3' } })
      .resolves({ Items: [entry(7, 100), entry(8, 150), entry(7, 200)] });
    doc.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: Record<string, string>[] }> }) => {
      const keys = input.RequestItems.t?.Keys ?? [];
      const pks = keys.map((key) => key[PARTITION_KEY]);
      if (new Set(pks).size !== pks.length) throw new Error('Provided list of item keys contains duplicates');
      return { Responses: { t: keys.map((key) => ({ ...key, jobId: Number(key[PARTITION_KEY]?.slice(4)) })) } };
    });

    const records = await queryList<{ jobId: number }>(ctx(), ListName.endedJobs, { keep: () => true });

    expect(records.map((r) => r.jobId)).toEqual([7, 8]);
    expect(doc.commandCalls(BatchGetCommand)).toHaveLength(1);
  });
});
