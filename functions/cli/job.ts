import type { Config } from '../config/config.ts';
import type { Job } from '../domain/job.ts';
import { poolNameOf } from '../domain/runner-pool.ts';

/** `jit-runners job show <id>`: a job and its history, read from the running server. */
export async function runJob(config: Config, args: string[]): Promise<number> {
  const [sub, id] = args;
  if (sub !== 'show' || !id || !/^\d+$/.test(id)) {
    process.stderr.write('usage: jit-runners job show <workflow_job id>\n');
    return 2;
  }
  const base = `http://127.0.0.1:${config.local.port}`;
  let res: Response;
  try {
    res = await fetch(`${base}/jobs/${id}`);
  } catch {
    process.stderr.write(`jit-runners: no server answers on ${base}; start it with npm start\n`);
    return 1;
  }
  if (res.status === 404) {
    process.stderr.write(`jit-runners: job ${id} is not recorded\n`);
    return 1;
  }
  const job = (await res.json()) as Job;
  process.stdout.write(formatJob(job));
  return 0;
}

export function formatJob(job: Job): string {
  const lines = [
    `job ${job.jobId}  ${job.owner}/${job.repo}  status ${job.status}`,
    `  pool: ${poolNameOf(job)}${job.pool === undefined ? ' (recorded before pools)' : ''}`,
    `  labels: ${job.labels.join(', ')}   attempt: ${job.attempt}   heals: ${job.heals}${job.thefts ? `   stolen runners replaced: ${job.thefts}` : ''}`,
  ];
  if (job.runnerName) lines.push(`  runner: ${job.runnerName} (id ${job.runnerId ?? '?'})`);
  if (job.runnerVersion !== undefined) lines.push(`  runner version: ${job.runnerVersion}`);
  else if (job.runnerName) lines.push('  runner version: not recorded');
  if (job.ranOn) lines.push(`  ran on: ${job.ranOn}`);
  if (job.status === 'waiting-capacity' && job.backlogSince !== undefined)
    lines.push(
      `  waiting for a runner of pool ${poolNameOf(job)} to end since ${new Date(job.backlogSince).toISOString()} (turn ${job.turn ?? '?'}; the pool is at its maxRunners)`,
    );
  else if (job.backlogSince !== undefined)
    lines.push(
      `  waited for capacity from ${new Date(job.backlogSince).toISOString()} (turn ${job.turn ?? '?'})${job.launchedAt === undefined ? '' : `, launched after ${formatWait(job.launchedAt - job.backlogSince)}`}`,
    );
  if (job.status === 'waiting' && job.waitingSince !== undefined)
    lines.push(`  waiting for an environment approval since ${new Date(job.waitingSince).toISOString()}`);
  else if (job.assignableAt !== undefined)
    lines.push(`  assignable again since ${new Date(job.assignableAt).toISOString()} (after an approval wait)`);
  if (job.waits) lines.push(`  runners retired by approval waits: ${job.waits}`);
  if (job.failureClass || job.reason) lines.push(`  failure: ${job.failureClass ?? ''} ${job.reason ?? ''}`.trimEnd());
  lines.push('  history:');
  for (const e of job.history) lines.push(`    ${new Date(e.at).toISOString()}  ${e.status.padEnd(15)} ${e.note}`);
  return `${lines.join('\n')}\n`;
}

/** A wait as people read it: `850 ms`, `12.3 s`, `4 min 5 s`. */
function formatWait(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1_000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
