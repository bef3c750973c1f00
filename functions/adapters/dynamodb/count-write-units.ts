import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { FinalizeRequestMiddleware, MetadataBearer } from '@smithy/types';
import { LIST_INDEX, PARTITION_KEY, SORT_KEY } from './table-schema.ts';

type Item = Record<string, AttributeValue>;

/** The index whose writes are counted, as the table declares it. */
export interface CountedIndex {
  name: string;
  partitionKey: string;
  sortKey: string;
  /** `ALL`: every attribute change rewrites the entry; `KEYS_ONLY`: only a key change does. */
  projection: 'ALL' | 'KEYS_ONLY';
}

export interface WriteUnitReport {
  /** Write units on the table's items, conditional failures included (DynamoDB bills them too). */
  tableWriteUnits: number;
  /** Index entries written: a put for an entry that appears or changes, a delete + put when its keys change. */
  indexWrites: number;
  indexWriteUnits: number;
  /** The partition key value (`table <pk>` or `<index> <gsi pk>`) with the most write units in one second. */
  peak: { key: string; writeUnitsPerSecond: number } | undefined;
  /** Write units per partition key value over the whole count. */
  byKey: Record<string, number>;
}

export interface WriteUnitCounter {
  report(): WriteUnitReport;
  reset(): void;
  detach(): void;
}

const KB = 1024;
const units = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));
const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');
// DynamoDB stores a number in about one byte per two significant digits, plus one.
const numberSize = (text: string) => Math.ceil(text.replace(/^-|\.|e.*$/gi, '').length / 2) + 1;

/** Size of one attribute value as DynamoDB counts it (docs: "Item size and format"). */
function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.length, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  if (value.M !== undefined)
    return 3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + utf8(k) + valueSize(v), 0);
  return 1;
}

/** A native value (what the document client, or a schema-based deserializer, hands back) as an AttributeValue. */
function toAttributeValue(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number' || typeof value === 'bigint') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null || value === undefined) return { NULL: true };
  if (value instanceof Uint8Array) return { B: value };
  if (Array.isArray(value)) return { L: value.map(toAttributeValue) };
  if (value instanceof Set) {
    const members = [...value];
    return typeof members[0] === 'number' ? { NS: members.map(String) } : { SS: members.map(String) };
  }
  const record = value as Record<string, unknown>;
  // The SDK's NumberValue wrapper keeps its digits as `value`.
  if (Object.keys(record).length === 1 && typeof record.value === 'string' && /^-?[\d.e+-]+$/i.test(record.value)) {
    return { N: record.value };
  }
  return { M: Object.fromEntries(Object.entries(record).map(([k, v]) => [k, toAttributeValue(v)])) };
}

/** Images arrive marshalled (requests) or native (some responses): both become AttributeValue maps. */
function normalize(item: Record<string, unknown> | undefined): Item | undefined {
  if (!item) return undefined;
  const pk = item[PARTITION_KEY];
  if (pk !== undefined && typeof pk !== 'string') return item as Item;
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, toAttributeValue(v)]));
}

export function itemSize(item: Item): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);
}

const same = (a: AttributeValue | undefined, b: AttributeValue | undefined) => JSON.stringify(a) === JSON.stringify(b);
const keyOf = (key: Item) => `${key[PARTITION_KEY]?.S ?? '?'}|${key[SORT_KEY]?.S ?? '?'}`;

/**
 * Counts write units per partition key value of the table and of its listing index, from the requests the
 * client sends and the item images they carry or get back: 1 unit per KB (rounded up) of the larger of the
 * item's before and after images; an index entry costs a put when it appears or its projected attributes
 * change and a delete + put when its keys change. The before image is the last one this counter saw of the
 * item (it sees every write of a bench run); a write that returns no after image (ReturnValues NONE or
 * ALL_OLD) is taken to change the attributes its expression names, keys included. DynamoDB's own numbers
 * (ConsumedCapacity) are not used because dynalite does not report index units.
 */
export function countWriteUnits(
  client: DynamoDBClient,
  index: CountedIndex = {
    name: LIST_INDEX.name,
    partitionKey: LIST_INDEX.partitionKey,
    sortKey: LIST_INDEX.sortKey,
    projection: LIST_INDEX.projection,
  },
  /** The clock that buckets writes into seconds (epoch ms). */
  now: () => number = Date.now,
): WriteUnitCounter {
  const name = `jit-runners-write-unit-counter-${Math.random().toString(36).slice(2)}`;
  const images = new Map<string, Item>();
  let perSecond = new Map<string, number>();
  let byKey = new Map<string, number>();
  let tableWriteUnits = 0;
  let indexWrites = 0;
  let indexWriteUnits = 0;

  const charge = (key: string, wcu: number) => {
    const second = Math.floor(now() / 1000);
    const bucket = `${second} ${key}`;
    perSecond.set(bucket, (perSecond.get(bucket) ?? 0) + wcu);
    byKey.set(key, (byKey.get(key) ?? 0) + wcu);
  };
  const entrySize = (item: Item) =>
    index.projection === 'ALL'
      ? itemSize(item)
      : [PARTITION_KEY, SORT_KEY, index.partitionKey, index.sortKey].reduce(
          (sum, attr) => sum + (item[attr] ? utf8(attr) + valueSize(item[attr]) : 0),
          0,
        );
  const indexEntry = (item: Item | undefined) => {
    if (!item) return;
    const gsiKey = item[index.partitionKey]?.S;
    if (gsiKey === undefined || item[index.sortKey] === undefined) return;
    const wcu = units(entrySize(item));
    indexWrites++;
    indexWriteUnits += wcu;
    charge(`${index.name} ${gsiKey}`, wcu);
  };
  const inIndex = (item: Item | undefined) =>
    item?.[index.partitionKey] !== undefined && item[index.sortKey] !== undefined;

  function write(key: Item, before: Item | undefined, after: Item | undefined, touched?: ReadonlySet<string>) {
    const wcu = units(Math.max(before ? itemSize(before) : 0, after ? itemSize(after) : 0));
    tableWriteUnits += wcu;
    charge(`table ${key[PARTITION_KEY]?.S ?? '?'}`, wcu);
    const keysChanged = touched
      ? touched.has(index.partitionKey) || touched.has(index.sortKey)
      : !same(before?.[index.partitionKey], after?.[index.partitionKey]) ||
        !same(before?.[index.sortKey], after?.[index.sortKey]);
    if (inIndex(before) && (!inIndex(after) || keysChanged)) indexEntry(before);
    if (inIndex(after)) {
      const projectedChanged =
        index.projection === 'ALL' && (touched ? touched.size > 0 : JSON.stringify(before) !== JSON.stringify(after));
      if (!inIndex(before) || keysChanged || projectedChanged) indexEntry(after);
    }
    if (after) images.set(keyOf(key), after);
    else images.delete(keyOf(key));
  }

  const middleware: FinalizeRequestMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    const command = String(context.commandName ?? '');
    const input = args.input as {
      Item?: Record<string, unknown>;
      Key?: Record<string, unknown>;
      ReturnValues?: string;
      ExpressionAttributeNames?: Record<string, string>;
    };
    const key = normalize(input.Item ?? input.Key);
    const putItem = normalize(input.Item);
    if (!key || !['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand'].includes(command)) return next(args);
    const before = images.get(keyOf(key));
    let result: Awaited<ReturnType<typeof next>>;
    try {
      result = await next(args);
    } catch (error) {
      // A failed condition still costs the write units of the item as stored.
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
        const wcu = units(before ? itemSize(before) : 0);
        tableWriteUnits += wcu;
        charge(`table ${key[PARTITION_KEY]?.S ?? '?'}`, wcu);
      }
      throw error;
    }
    const attributes = normalize((result.output as { Attributes?: Record<string, unknown> }).Attributes);
    if (command === 'PutItemCommand') write(key, before, putItem);
    else if (command === 'DeleteItemCommand') write(key, before ?? attributes, undefined);
    else if (input.ReturnValues === 'ALL_NEW' && attributes) write(key, before, attributes);
    else {
      const old = before ?? (input.ReturnValues === 'ALL_OLD' ? attributes : undefined);
      write(key, old, old ?? key, new Set(Object.values(input.ExpressionAttributeNames ?? {})));
    }
    return result;
  };
  client.middlewareStack.add(middleware, { step: 'finalizeRequest', priority: 'low', name });

  return {
    report() {
      let peak: WriteUnitReport['peak'];
      for (const [bucket, wcu] of perSecond) {
        if (!peak || wcu > peak.writeUnitsPerSecond) {
          peak = { key: bucket.slice(bucket.indexOf(' ') + 1), writeUnitsPerSecond: wcu };
        }
      }
      return { tableWriteUnits, indexWrites, indexWriteUnits, peak, byKey: Object.fromEntries(byKey) };
    },
    reset() {
      perSecond = new Map();
      byKey = new Map();
      tableWriteUnits = 0;
      indexWrites = 0;
      indexWriteUnits = 0;
    },
    detach() {
      client.middlewareStack.remove(name);
    },
  };
}

/**
 * Jobs per second one deployment sustains before a partition key value passes DynamoDB's 1,000 write units
 * per second: keys shared by many jobs (lists, singletons) carry write units in proportion to the job rate,
 * so the busiest key's units per job set the bound. A key written by a single job (its own item) counts too,
 * but its share per job of a large run is tiny.
 */
export function sustainableJobsPerSecond(
  report: WriteUnitReport,
  jobs: number,
): { key: string; perJob: number; jobsPerSecond: number } {
  let key = '';
  let perJob = 0;
  for (const [k, wcu] of Object.entries(report.byKey)) {
    if (wcu / jobs > perJob) {
      key = k;
      perJob = wcu / jobs;
    }
  }
  return { key, perJob, jobsPerSecond: perJob === 0 ? Number.POSITIVE_INFINITY : Math.floor(1000 / perJob) };
}
