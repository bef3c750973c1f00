import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, it } from 'vitest';
import { StateTable } from '../../cdk/constructs/state-table.ts';
import { BACKLOG_INDEX, LIST_INDEX } from '../../functions/adapters/dynamodb/table-schema.ts';

function tableTemplate(props?: ConstructorParameters<typeof StateTable>[2]): Template {
  const stack = new Stack(new App(), 'Tables');
  new StateTable(stack, 'State', props);
  return Template.fromStack(stack);
}

describe('StateTable', () => {
  it('projects only the keys into the listing index by default', () => {
    tableTemplate().hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        { IndexName: LIST_INDEX.name, Projection: { ProjectionType: 'KEYS_ONLY' } },
        {
          IndexName: BACKLOG_INDEX.name,
          KeySchema: [
            { AttributeName: BACKLOG_INDEX.partitionKey, KeyType: 'HASH' },
            { AttributeName: BACKLOG_INDEX.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });
  });

  it('keeps the older ALL projection when a stack deployed before asks for it', () => {
    tableTemplate({ listIndexProjection: 'all' }).hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [{ IndexName: LIST_INDEX.name, Projection: { ProjectionType: 'ALL' } }, {}],
    });
  });
});
