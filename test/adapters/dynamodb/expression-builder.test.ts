import { describe, expect, it } from 'vitest';
import { ExpressionBuilder } from '../../../functions/adapters/dynamodb/expression-builder.ts';

describe('ExpressionBuilder', () => {
  it('writes a single condition without brackets', () => {
    const b = new ExpressionBuilder();
    b.condition(`attribute_not_exists(${b.name('pk')}) OR ${b.name('leaseExpiresAt')} < ${b.value(5)}`);
    expect(b.params().ConditionExpression).toBe('attribute_not_exists(#pk) OR #leaseExpiresAt < :v0');
  });

  it('brackets only the conditions with an OR when several are ANDed, so precedence stays right', () => {
    const b = new ExpressionBuilder();
    b.condition(`attribute_exists(${b.name('pk')})`);
    b.condition(`${b.name('status')} IN (${b.value('queued')}, ${b.value('launched')})`);
    b.condition(`attribute_not_exists(${b.name('leaseOwner')}) OR ${b.name('leaseExpiresAt')} < ${b.value(9)}`);
    expect(b.params().ConditionExpression).toBe(
      'attribute_exists(#pk) AND #status IN (:v0, :v1) AND (attribute_not_exists(#leaseOwner) OR #leaseExpiresAt < :v2)',
    );
  });

  it('puts names and values in placeholders and builds SET, REMOVE and ADD clauses', () => {
    const b = new ExpressionBuilder();
    b.set('status', 'launched')
      .remove('notBefore')
      .add('deliveryIds', new Set(['d1']));
    expect(b.params()).toEqual({
      UpdateExpression: 'SET #status = :v0 REMOVE #notBefore ADD #deliveryIds :v1',
      ExpressionAttributeNames: { '#status': 'status', '#notBefore': 'notBefore', '#deliveryIds': 'deliveryIds' },
      ExpressionAttributeValues: { ':v0': 'launched', ':v1': new Set(['d1']) },
    });
  });

  it('refuses attribute names that cannot be placeholders', () => {
    expect(() => new ExpressionBuilder().name('a.b')).toThrow(TypeError);
  });
});
