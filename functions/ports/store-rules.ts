/**
 * Write rules both Store implementations enforce identically (DynamoStore and MemoryStore); pure, no SDK.
 * Breaking one of them is a programming error in the caller, so it throws `TypeError` before any request.
 */

import { INTERNAL_ATTRIBUTES } from '../adapters/dynamodb/table-schema.ts';
import type { Job } from '../domain/job.ts';
import { JobStatus } from '../domain/job-status.ts';
import type { RunnerRecord } from '../domain/runner-record.ts';
import type { JobChanges, JobExpectation } from './store.ts';

/** Fields the store manages itself; `set` may not touch them. */
export const MANAGED_JOB_FIELDS: readonly string[] = [
  'jobId',
  'version',
  'history',
  'createdAt',
  'deliveryIds',
  'updatedAt',
];

/** Optional job fields: the only ones `remove` accepts (required fields such as `status` can only be set). */
export const REMOVABLE_JOB_FIELDS: readonly (keyof Job)[] = [
  'runnerName',
  'runnerId',
  'launchId',
  'runnerVersion',
  'runnerVersionRole',
  'warmName',
  'ranOn',
  'conclusion',
  'failureClass',
  'reason',
  'leaseOwner',
  'leaseExpiresAt',
  'notBefore',
  'launchedAt',
  'interruptedAttempt',
];

export const MANAGED_RUNNER_FIELDS: readonly string[] = ['name', 'createdAt', 'updatedAt'];

/** The `set` entries that carry a value (`undefined` means "leave alone"). */
export function definedEntries(set: object | undefined): [string, unknown][] {
  return Object.entries(set ?? {}).filter(([, value]) => value !== undefined);
}

export function checkJobChanges(changes: JobChanges): void {
  const setKeys = definedEntries(changes.set).map(([key]) => key);
  for (const key of setKeys) {
    if (MANAGED_JOB_FIELDS.includes(key) || INTERNAL_ATTRIBUTES.includes(key)) {
      throw new TypeError(`job field '${key}' is managed by the store`);
    }
  }
  for (const key of changes.remove ?? []) {
    if (!REMOVABLE_JOB_FIELDS.includes(key)) throw new TypeError(`job field '${key}' cannot be removed`);
    if (setKeys.includes(key)) throw new TypeError(`job field '${key}' is both set and removed`);
  }
  // The backlog is listed in launch order from these three (the DynamoStore indexes them in the same write).
  if (changes.set?.status === JobStatus.waitingCapacity) {
    for (const key of ['pool', 'turn', 'backlogSince'] as const) {
      if (changes.set[key] === undefined) throw new TypeError(`a write to waiting-capacity must set '${key}'`);
    }
  }
}

export function checkRunnerChanges(set: Partial<RunnerRecord>): void {
  for (const [key] of definedEntries(set)) {
    if (MANAGED_RUNNER_FIELDS.includes(key) || INTERNAL_ATTRIBUTES.includes(key)) {
      throw new TypeError(`runner field '${key}' is managed by the store`);
    }
  }
}

/** Names of the parts of an expectation, in a fixed order, for error messages (never values). */
export function expectationParts(expect: JobExpectation): string[] {
  const parts = ['exists'];
  if (expect.statusIn !== undefined) parts.push('statusIn');
  if (expect.version !== undefined) parts.push('version');
  if (expect.attempt !== undefined) parts.push('attempt');
  if (expect.leaseFreeAt !== undefined) parts.push('leaseFree');
  else if (expect.leaseHolder !== undefined) parts.push('leaseHeld');
  return parts;
}
