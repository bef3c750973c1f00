import { INTERNAL_ATTRIBUTES } from './table-schema.ts';

/**
 * Turns a stored item back into a domain record: drops the table's own attributes (keys, index keys, TTL,
 * entity) and turns string sets (delivery ids) into sorted arrays, so both stores return the same shape.
 */
export function fromItem<T>(item: Record<string, unknown>): T {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    if (INTERNAL_ATTRIBUTES.includes(key) || value === undefined) continue;
    record[key] = value instanceof Set ? [...(value as Set<string>)].sort() : value;
  }
  return record as T;
}
