import type { Config } from '../config/config.ts';
import { type DoctorCheck, type DoctorReport, doctorExitCode } from '../domain/doctor-check.ts';
import { wrapUnder } from './fleet-format.ts';

export interface DoctorCliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  fetch: typeof fetch;
  /** Runs the checks in this process when no server answers (a real App only). */
  inProcess: (config: Config, webhookUrl: string | undefined) => Promise<DoctorReport>;
}

const defaultIo: DoctorCliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  fetch: (input, init) => fetch(input, init),
  inProcess: async (config, webhookUrl) => {
    const { runDoctorInProcess } = await import('../composition/doctor.ts');
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    return runDoctorInProcess(config, { logger: quiet, ...(webhookUrl !== undefined && { webhookUrl }) });
  },
};

const STATUS = 6;
const NAME = 16;
const DETAIL_INDENT = STATUS + NAME;

/** One check: `fail  webhook         summary`, then `fix:` and the details indented under the summary. */
export function formatCheck(check: DoctorCheck): string[] {
  const head = `${check.status.padEnd(STATUS)}${check.id.padEnd(NAME)}`;
  const lines = [wrapUnder(head, check.summary)];
  const under = (prefix: string, text: string) => {
    lines.push(wrapUnder(`${' '.repeat(DETAIL_INDENT)}${prefix}`, text));
  };
  if (check.fix) under('fix: ', check.fix);
  for (const detail of check.details) under('', detail);
  return lines;
}

/** The whole report as people read it, within the CLI's 100 columns ({@link wrapUnder}; long URLs are never broken). */
export function formatDoctorReport(report: DoctorReport, note?: string): string {
  const lines = [`jit-runners doctor${note ? `  (${note})` : ''}`];
  for (const check of report.checks) lines.push(...formatCheck(check));
  const { ok, warn, fail } = report.counts;
  lines.push(
    '',
    `${fail} failed, ${warn} ${warn === 1 ? 'warning' : 'warnings'}, ${ok} ok${fail > 0 ? ': fix the failed checks above' : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

/** One line per warn or fail check, for `npm start` (stderr): the summary and the fix. */
export function startupDoctorLines(report: DoctorReport): string[] {
  return report.checks
    .filter((c) => c.status !== 'ok')
    .map((c) => `jit-runners doctor: ${c.status} ${c.id}: ${c.summary}${c.fix ? `; fix: ${c.fix}` : ''}`);
}

/**
 * `jit-runners doctor [--json] [--webhook-url URL]`: asks the running server (`GET /admin/doctor`); when
 * none answers, runs the checks in this process (a real App), or says to start one (the sandbox). Exit
 * codes: 0 no check failed (warnings allowed), 1 a check failed or the checks could not run.
 */
export async function runDoctorCommand(
  config: Config,
  options: { json: boolean; webhookUrl?: string },
  io: DoctorCliIo = defaultIo,
): Promise<number> {
  const base = `http://127.0.0.1:${config.local.port}`;
  const query = options.webhookUrl ? `?webhookUrl=${encodeURIComponent(options.webhookUrl)}` : '';
  let report: DoctorReport;
  let note: string;
  let res: Response | undefined;
  try {
    res = await io.fetch(`${base}/admin/doctor${query}`);
  } catch {
    res = undefined;
  }
  if (res) {
    if (res.status === 404) {
      io.err(
        `jit-runners: the server on ${base} does not serve GET /admin/doctor (an older jit-runners?); restart it with npm start\n`,
      );
      return 1;
    }
    const body = (await res.json().catch(() => undefined)) as DoctorReport | { message?: unknown } | undefined;
    if (!res.ok || !body || !('checks' in body)) {
      const message = (body as { message?: unknown } | undefined)?.message;
      io.err(
        `jit-runners: the server answered ${res.status} to GET /admin/doctor${typeof message === 'string' ? `: ${message}` : ''}\n`,
      );
      return 1;
    }
    report = body;
    note = `checked by the server on ${base}`;
  } else if (config.mode === 'sandbox') {
    io.err(
      `jit-runners: no server answers on ${base}; the sandbox's checks run in it: start it with npm start (or set GITHUB_APP_ID to check a real App here)\n`,
    );
    return 1;
  } else {
    report = await io.inProcess(config, options.webhookUrl);
    note = `no server on ${base}: checked in this process`;
  }
  io.out(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report, note));
  return doctorExitCode(report);
}
