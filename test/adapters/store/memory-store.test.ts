import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { ConditionFailedError, StoreUnavailableError } from '../../../functions/ports/store.ts';
import { describeStoreContract, describeVersionRecordContract, newJob } from './store-contract.ts';

describeStoreContract('MemoryStore', async () => createMemoryStore());

describeVersionRecordContract('MemoryStore', async () => {
  const store = createMemoryStore();
  return { store, writeRaw: async (raw) => store.writeRawVersionRecord(raw) };
});

describe('MemoryStore.failNext', () => {
  it('fails the next call of one operation with StoreUnavailableError by default, then works again', async () => {
    const store = createMemoryStore();
    store.failNext('jobs.create');
    await expect(store.jobs.create(newJob(), 'd', 1)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.jobs.get(101)).toBeUndefined();
    expect(await store.jobs.create(newJob(), 'd', 2)).toEqual({ created: true });
  });

  it('fails only the named operation, the given number of times, with the given error', async () => {
    const store = createMemoryStore();
    await store.jobs.create(newJob(), 'd', 1);
    const injected = new ConditionFailedError('injected race');
    store.failNext('jobs.update', injected, 2);
    expect((await store.jobs.get(101))?.version).toBe(1);
    await expect(store.jobs.update(101, {}, { set: { heals: 1 } }, 2)).rejects.toBe(injected);
    await expect(store.jobs.update(101, {}, { set: { heals: 1 } }, 3)).rejects.toBe(injected);
    expect((await store.jobs.update(101, {}, { set: { heals: 1 } }, 4)).version).toBe(2);
  });

  it('injects into lock operations too', async () => {
    const store = createMemoryStore();
    store.failNext('locks.mark');
    await expect(store.locks.mark('m', 1, 10)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.locks.mark('m', 1, 10)).toBe(true);
  });
});
