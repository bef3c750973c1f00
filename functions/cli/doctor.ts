import type { Config } from '../config/config.ts';
import { type DoctorCheck, type DoctorReport, doctorExitCode } from '../domain/doctor-check.ts';

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

/** Text output stays within this many columns (long URLs excepted: they are never broken). */
export const DOCTOR_WIDTH = 100;
const STATUS = 6;
const NAME = 16;
const DETAIL_INDENT = STATUS + NAME;

/**
 * `text` after a prefix of `indent` columns, in words, within {@link DOCTOR_WIDTH}: every line after the
 * first indented by `indent` too. A word longer than a line (a URL) is never broken.
 */
function wrap(text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const room = DOCTOR_WIDTH - indent;
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= room) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : `${' '.repeat(indent)}${l}`));
}

/** One check: `fail  webhook         summary`, then `fix:` and the details indented under the summary. */
export function formatCheck(check: DoctorCheck): string[] {
  const head = `${check.status.padEnd(STATUS)}${check.id.padEnd(NAME)}`;
  const lines = [`${head}${wrap(check.summary, head.length).join('\n')}`];
  const under = (prefix: string, text: string) => {
    const start = `${' '.repeat(DETAIL_INDENT)}${prefix}`;
    lines.push(`${start}${wrap(text, start.length).join('\n')}`);
  };
  if (check.fix) under('fix: ', check.fix);
  for (const detail of check.details) under('', detail);
  return lines;
}

/** The whole report as people read it, within {@link DOCTOR_WIDTH} columns. */
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
