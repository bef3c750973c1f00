/**
 * The runner version record's shape, checked identically by both Store implementations (DynamoStore and
 * MemoryStore): on every read (a record that fails is {@link VersionRecordCorruptError}, never recreated) and
 * before every write (a caller's invalid record is a `TypeError`, before any request). No SDK.
 */
import * as z from 'zod/mini';
import { isSha256, RunnerPlatform } from '../domain/release-checksums.ts';
import { isExactVersion } from '../domain/runner-version.ts';
import type { VersionRecord, VersionRecordState } from '../domain/version-record.ts';
import { VersionRecordCorruptError } from './store.ts';

/** The names of a version-record write's condition parts, as ConditionFailedError messages give them. */
export const VersionConditionPart = {
  /** `expectRevision` 0: no record exists yet. */
  absent: 'absent',
  /** The stored revision is `expectRevision`. */
  revision: 'revision',
} as const;
export type VersionConditionPart = (typeof VersionConditionPart)[keyof typeof VersionConditionPart];

export function versionConditionPart(expectRevision: number): VersionConditionPart {
  return expectRevision === 0 ? VersionConditionPart.absent : VersionConditionPart.revision;
}

/** `what` of a put, for error messages (the condition part, never values). */
export function versionPutWhat(expectRevision: number): string {
  return `version record put [${versionConditionPart(expectRevision)}]`;
}

const version = z.string().check(z.refine(isExactVersion, 'must be an exact version'));
const time = z.number().check(z.int(), z.minimum(0));
const checksums = z.partialRecord(
  z.enum(Object.values(RunnerPlatform)),
  z.string().check(z.refine(isSha256, 'must be a SHA-256 (64 lower-case hex digits)')),
);
const adopted = z.object({ version, checksums, adoptedAt: time });

const stateShape = {
  current: adopted,
  previous: z.optional(adopted),
  canary: z.optional(
    z.object({
      version,
      checksums,
      since: time,
      share: z.number().check(z.minimum(0), z.maximum(100)),
    }),
  ),
  bad: z
    .array(z.object({ version, reason: z.string(), at: time }))
    .check(z.refine((bad) => new Set(bad.map((b) => b.version)).size === bad.length, 'lists a version twice')),
};

const stateSchema = z.object(stateShape);
const recordSchema = z.object({
  ...stateShape,
  revision: z.number().check(z.int(), z.minimum(1)),
  updatedAt: time,
});

/** Where the first problem is (`canary.checksums.linux-x64`), never the value. */
function firstProblem(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join('.') || 'record';
  return `${path}: ${issue?.code ?? 'invalid'}`;
}

/**
 * A stored item (internal attributes already stripped) as a {@link VersionRecord}; unknown attributes are
 * dropped. Throws {@link VersionRecordCorruptError}, with the schema error as cause.
 */
export function parseStoredVersionRecord(raw: unknown): VersionRecord {
  const result = recordSchema.safeParse(raw);
  if (!result.success) {
    throw new VersionRecordCorruptError(
      `version record is corrupt (${firstProblem(result.error)}); refusing to use or replace it: repair or delete the item`,
      { cause: result.error },
    );
  }
  return result.data as VersionRecord;
}

/** Throws `TypeError` when `state` is not a valid record: the caller built it wrong. */
export function checkVersionRecordState(state: VersionRecordState): void {
  const result = stateSchema.safeParse(state);
  if (!result.success) throw new TypeError(`invalid version record (${firstProblem(result.error)})`);
  if (state.canary && state.bad.some((b) => b.version === state.canary?.version)) {
    throw new TypeError(`invalid version record (canary ${state.canary.version} is marked bad)`);
  }
}

/**
 * The state as it is stored: optional members that are undefined left out (DynamoDB drops them too), so
 * both stores return the same shape.
 */
export function storedVersionState(state: VersionRecordState): VersionRecordState {
  return {
    current: state.current,
    ...(state.previous !== undefined && { previous: state.previous }),
    ...(state.canary !== undefined && { canary: state.canary }),
    bad: state.bad,
  };
}
