/**
 * `jit-runners doctor`: one verdict per setup check (docs/design.md "Doctor"). Pure: the facts are gathered
 * by the use case (functions/use-cases/admin/run-doctor.ts); the evaluators in `./doctor/` judge them.
 */

export const CheckStatus = { ok: 'ok', warn: 'warn', fail: 'fail' } as const;
export type CheckStatus = (typeof CheckStatus)[keyof typeof CheckStatus];

/** The checks, in the order they are printed. */
export const DoctorCheckId = {
  app: 'app',
  installations: 'installations',
  webhook: 'webhook',
  secrets: 'secrets',
  clock: 'clock',
  runnerVersion: 'runner-version',
  allowlist: 'allowlist',
  pools: 'pools',
  runnerDir: 'runner-dir',
} as const;
export type DoctorCheckId = (typeof DoctorCheckId)[keyof typeof DoctorCheckId];

export const DOCTOR_CHECK_ORDER: readonly DoctorCheckId[] = Object.values(DoctorCheckId);

/** One check's verdict. Never carries a secret: the evaluators are handed none they would print. */
export interface DoctorCheck {
  readonly id: DoctorCheckId;
  readonly status: CheckStatus;
  /** One line: what was found. */
  readonly summary: string;
  /** What to do about it (warn and fail only). */
  readonly fix?: string;
  /** Further lines printed indented below the summary (both URLs of a mismatch, other findings). */
  readonly details: readonly string[];
}

/** The whole run: `schema` changes only when a field changes meaning or goes away. */
export interface DoctorReport {
  readonly schema: 1;
  /** ISO time the checks ran. */
  readonly at: string;
  /** Where they ran: `server` (the running local server), `process` (the CLI itself), `lambda`. */
  readonly ranIn: 'server' | 'process' | 'lambda';
  readonly checks: readonly DoctorCheck[];
  readonly counts: { readonly ok: number; readonly warn: number; readonly fail: number };
}

const SEVERITY: Record<CheckStatus, number> = { ok: 0, warn: 1, fail: 2 };

export function worse(a: CheckStatus, b: CheckStatus): CheckStatus {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

/** One thing an evaluator noticed; a check is the worst of its findings. */
export interface Finding {
  readonly status: CheckStatus;
  readonly text: string;
  readonly fix?: string;
}

export const finding = (status: CheckStatus, text: string, fix?: string): Finding =>
  fix === undefined ? { status, text } : { status, text, fix };

/**
 * A check from its findings: ok (with `okSummary`) when none is warn or fail; else the worst finding is
 * the summary and its fix the fix, and the other non-ok findings follow as details (with their fixes).
 * `notes` are printed under an ok check (what was looked at).
 */
export function checkFrom(
  id: DoctorCheckId,
  findings: readonly Finding[],
  okSummary: string,
  notes: readonly string[] = [],
): DoctorCheck {
  const problems = findings
    .filter((f) => f.status !== CheckStatus.ok)
    .sort((a, b) => SEVERITY[b.status] - SEVERITY[a.status]);
  const [first, ...rest] = problems;
  if (!first) return { id, status: CheckStatus.ok, summary: okSummary, details: notes };
  return {
    id,
    status: first.status,
    summary: first.text,
    ...(first.fix !== undefined && { fix: first.fix }),
    details: rest.map((f) => `${f.status}: ${f.text}${f.fix ? ` (fix: ${f.fix})` : ''}`),
  };
}

/** A check that could not run (GitHub unreachable, a prerequisite failed): a fail naming why. */
export function notChecked(id: DoctorCheckId, reason: string, fix?: string): DoctorCheck {
  return {
    id,
    status: CheckStatus.fail,
    summary: `not checked: ${reason}`,
    ...(fix !== undefined && { fix }),
    details: [],
  };
}

/** The report over the checks, in {@link DOCTOR_CHECK_ORDER}. */
export function doctorReport(checks: readonly DoctorCheck[], ranIn: DoctorReport['ranIn'], now: number): DoctorReport {
  const ordered = [...checks].sort((a, b) => DOCTOR_CHECK_ORDER.indexOf(a.id) - DOCTOR_CHECK_ORDER.indexOf(b.id));
  const count = (status: CheckStatus) => ordered.filter((c) => c.status === status).length;
  return {
    schema: 1,
    at: new Date(now).toISOString(),
    ranIn,
    checks: ordered,
    counts: { ok: count(CheckStatus.ok), warn: count(CheckStatus.warn), fail: count(CheckStatus.fail) },
  };
}

/** The CLI's exit code: 1 when any check failed (warnings do not fail). */
export function doctorExitCode(report: Pick<DoctorReport, 'counts'>): 0 | 1 {
  return report.counts.fail > 0 ? 1 : 0;
}
