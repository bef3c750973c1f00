import type { Config } from '../config/config.ts';
import type { Baseline } from '../domain/baseline.ts';

const USAGE = `usage: jit-runners baseline list
       jit-runners baseline ensure <owner/repo|org>

  list     show the BASELINE# record of every scope (state, method, runner, when verified)
  ensure   register a regular runner for the scope now, see it online, remove it and record the
           baseline (method manual); the usual advice for critical repositories
`;

export interface BaselineCliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  fetch: typeof fetch;
}

const defaultIo: BaselineCliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  fetch: (input, init) => fetch(input, init),
};

function when(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

/** One line per scope, fixed columns, newest last (the store lists them by update time). */
export function formatBaselines(baselines: readonly Baseline[]): string {
  if (baselines.length === 0) return 'no baseline records yet\n';
  const rows = baselines.map((b) => [
    b.scopeKey,
    b.state,
    b.method ?? '-',
    b.runnerName ? `${b.runnerName}${b.runnerId !== undefined ? ` (id ${b.runnerId})` : ''}` : '-',
    when(b.verifiedOnlineAt),
    String(b.workarounds),
    b.state === 'healing' ? `healing until ${when(b.healingUntil)}` : (b.reason ?? ''),
  ]);
  const header = ['SCOPE', 'STATE', 'METHOD', 'RUNNER', 'VERIFIED ONLINE', 'WORKAROUNDS', 'NOTE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/**
 * `jit-runners baseline list|ensure`: talks to the running server's loopback admin routes
 * (`GET /admin/baselines`, `POST /admin/baselines/ensure?scope=`). Exit codes: 0 done, 1 failed or no
 * server, 2 usage.
 */
export async function runBaseline(config: Config, args: string[], io: BaselineCliIo = defaultIo): Promise<number> {
  const [sub, scope, ...extra] = args;
  const base = `http://127.0.0.1:${config.local.port}`;
  const call = async (path: string, init?: RequestInit): Promise<Response | undefined> => {
    try {
      return await io.fetch(`${base}${path}`, init);
    } catch {
      io.err(`jit-runners: no server answers on ${base}; start it with npm start\n`);
      return undefined;
    }
  };

  if (sub === 'list' && scope === undefined) {
    const res = await call('/admin/baselines');
    if (!res) return 1;
    if (!res.ok) {
      io.err(`jit-runners: the server answered ${res.status} to GET /admin/baselines\n`);
      return 1;
    }
    io.out(formatBaselines((await res.json()) as Baseline[]));
    return 0;
  }

  if (sub === 'ensure' && scope && extra.length === 0) {
    io.out(`ensuring a baseline for ${scope} (up to ${config.timeouts.baselineOnlineSeconds} s)...\n`);
    const res = await call(`/admin/baselines/ensure?scope=${encodeURIComponent(scope)}`, { method: 'POST' });
    if (!res) return 1;
    let body: { message?: string; baseline?: Baseline } = {};
    try {
      body = (await res.json()) as typeof body;
    } catch {
      // an empty or non-JSON answer: the status says enough
    }
    const message = body.message ?? `the server answered ${res.status}`;
    if (res.status >= 200 && res.status < 300) {
      io.out(`${message}\n`);
      if (body.baseline) io.out(formatBaselines([body.baseline]));
      return 0;
    }
    io.err(`jit-runners: ${message}\n`);
    return res.status === 400 ? 2 : 1;
  }

  io.err(USAGE);
  return 2;
}
