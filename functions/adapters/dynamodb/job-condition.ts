import type { JobExpectation } from '../../ports/store.ts';
import type { ExpressionBuilder } from './expression-builder.ts';
import { PARTITION_KEY } from './table-schema.ts';

/**
 * Named parts of a job write's condition. Each part turns one field of {@link JobExpectation} into a
 * condition expression; `addJobCondition` ANDs the parts that apply. MemoryStore evaluates the same parts
 * (memory/job-expectation.ts), and the shared contract suite checks each part holding and failing on both.
 */
export const jobConditionParts = {
  /** The job exists: an update never creates a half item. */
  exists: (b: ExpressionBuilder) => `attribute_exists(${b.name(PARTITION_KEY)})`,
  statusIn: (b: ExpressionBuilder, statuses: readonly string[]) =>
    // `IN ()` is not valid syntax; an empty list can never hold, so ask for something that never exists.
    statuses.length === 0
      ? `attribute_not_exists(${b.name(PARTITION_KEY)})`
      : `${b.name('status')} IN (${statuses.map((s) => b.value(s)).join(', ')})`,
  version: (b: ExpressionBuilder, version: number) => `${b.name('version')} = ${b.value(version)}`,
  attempt: (b: ExpressionBuilder, attempt: number) => `${b.name('attempt')} = ${b.value(attempt)}`,
  /** Nobody holds a live lease at `at`: none, expired (strictly before `at`), or held by `holder`. */
  leaseFree: (b: ExpressionBuilder, at: number, holder: string | undefined) => {
    const owner = b.name('leaseOwner');
    const free = [`attribute_not_exists(${owner})`, `${b.name('leaseExpiresAt')} < ${b.value(at)}`];
    if (holder !== undefined) free.push(`${owner} = ${b.value(holder)}`);
    return free.join(' OR ');
  },
  leaseHeld: (b: ExpressionBuilder, holder: string) => `${b.name('leaseOwner')} = ${b.value(holder)}`,
} as const;

export function addJobCondition(b: ExpressionBuilder, expect: JobExpectation): void {
  b.condition(jobConditionParts.exists(b));
  if (expect.statusIn !== undefined) b.condition(jobConditionParts.statusIn(b, expect.statusIn));
  if (expect.version !== undefined) b.condition(jobConditionParts.version(b, expect.version));
  if (expect.attempt !== undefined) b.condition(jobConditionParts.attempt(b, expect.attempt));
  if (expect.leaseFreeAt !== undefined) {
    b.condition(jobConditionParts.leaseFree(b, expect.leaseFreeAt, expect.leaseHolder));
  } else if (expect.leaseHolder !== undefined) {
    b.condition(jobConditionParts.leaseHeld(b, expect.leaseHolder));
  }
}
