import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { SANDBOX_FILE, type SandboxInfo } from '../composition/local-app.ts';
import type { Config } from '../config/config.ts';
import { isTerminal, type JobStatus } from '../domain/job-status.ts';
import { parseLabelList } from '../domain/labels.ts';
import { runVersionRolloutDemo } from './demo-version-rollout.ts';
import { createProgress } from './progress.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `jit-runners demo`'s options, as main.ts parsed and checked them. */
export interface DemoOptions {
  /** `--timeout`: give up after this many seconds (default 120). */
  timeoutSeconds?: number;
  /** `--pool`: ask for this pool's labels. */
  pool?: string;
  /** `--labels`: ask for exactly these (comma-separated). */
  labels?: string;
  /** `--version-rollout`. */
  versionRollout?: boolean;
  /** `--quiet`: no progress on stderr. */
  quiet?: boolean;
}

/**
 * `npm run demo`: asks the sandbox's GitHub simulator for a queued job (a real `workflow_job` payload),
 * signs it with the sandbox webhook secret, posts it to the running server and prints each state the
 * job reaches until it is completed.
 */
export async function runDemo(config: Config, options: DemoOptions = {}): Promise<number> {
  // Progress on stderr (stdout keeps the job's story); --quiet silences it. A terminal's updating line is
  // closed before each stdout line, so the two never share a line.
  const progress = createProgress({ quiet: options.quiet === true });
  const out = (line: string) => {
    progress.end();
    process.stdout.write(`${line}\n`);
  };
  const timeoutMs = (options.timeoutSeconds ?? 120) * 1000;
  const labels = demoLabels(config, options.pool, options.labels);
  if (typeof labels === 'string') {
    out(labels);
    return 2;
  }
  const base = `http://127.0.0.1:${config.local.port}`;
  progress.phase(`demo: asking the server on ${base}`);

  try {
    const health = await fetch(`${base}/healthz`);
    if (!health.ok) throw new Error(`status ${health.status}`);
  } catch {
    out(`No jit-runners server answers on ${base}. Start it first: npm start`);
    return 1;
  }
  let sandbox: SandboxInfo;
  try {
    sandbox = JSON.parse(await readFile(join(resolve(config.local.stateDir), SANDBOX_FILE), 'utf8')) as SandboxInfo;
  } catch {
    out(
      `The server on ${base} is not a sandbox (no ${config.local.stateDir}/${SANDBOX_FILE}). The demo needs \`npm start\` without GITHUB_APP_ID.`,
    );
    return 1;
  }

  if (options.versionRollout === true) {
    return runVersionRolloutDemo({
      base,
      simulatorUrl: sandbox.simulatorUrl,
      out,
      timeoutMs,
      deliverJob: async () => {
        const next = await queueJob(base, sandbox, labels);
        if (typeof next === 'string') return next;
        return next.status === 202 ? next.jobId : `demo: POST /webhook → ${next.status}: the job was not taken`;
      },
    });
  }
  progress.phase('demo: queueing a job at the simulator and delivering its webhook');
  const queued = await queueJob(base, sandbox, labels);
  if (typeof queued === 'string') {
    out(queued);
    return 1;
  }
  const { jobId } = queued;
  out(`demo: workflow_job ${jobId} queued in octo-org/demo-repo with labels [${queued.labels.join(', ')}]`);
  out(`demo: POST /webhook → ${queued.status} ${JSON.stringify(queued.answer)}`);
  if (queued.status !== 202) {
    if (queued.status === 200) out(`demo: no pool serves [${labels.join(', ')}] (${poolList(config)})`);
    return 1;
  }

  const started = Date.now();
  let last: JobStatus | undefined;
  while (Date.now() - started < timeoutMs) {
    const res = await fetch(`${base}/jobs/${jobId}`);
    if (res.ok) {
      const job = (await res.json()) as {
        status: JobStatus;
        pool?: string;
        runnerName?: string;
        conclusion?: string;
        reason?: string;
      };
      if (last === undefined) out(`demo: served by pool ${job.pool ?? 'default'}`);
      if (job.status !== last) {
        last = job.status;
        progress.phase(`demo: job ${jobId} ${job.status}`);
        const detail = [job.runnerName && `runner ${job.runnerName}`, job.conclusion, job.reason]
          .filter(Boolean)
          .join(', ');
        out(
          `  ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${job.status}${detail ? `  (${detail})` : ''}`,
        );
      }
      if (isTerminal(job.status)) {
        out(job.status === 'completed' ? 'demo: job completed' : 'demo: job failed');
        return job.status === 'completed' ? 0 : 1;
      }
    }
    await sleep(100);
  }
  out(`demo: job ${jobId} did not finish within ${timeoutMs / 1000} s (last state: ${last ?? 'unknown'})`);
  return 1;
}

/** Queues one job at the simulator and posts its signed `queued` webhook; a string says what failed. */
async function queueJob(
  base: string,
  sandbox: SandboxInfo,
  labels: readonly string[],
): Promise<{ jobId: number; labels: string[]; status: number; answer: unknown } | string> {
  const created = await fetch(`${sandbox.simulatorUrl}/_sim/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ owner: 'octo-org', repo: 'demo-repo', labels }),
  });
  if (!created.ok) return `The GitHub simulator refused the demo job (status ${created.status}).`;
  const { payload } = (await created.json()) as { payload: { workflow_job: { id: number; labels: string[] } } };
  const body = JSON.stringify(payload);
  const answer = await fetch(`${base}/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'workflow_job',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': await sign(sandbox.webhookSecret, body),
    },
    body,
  });
  return {
    jobId: payload.workflow_job.id,
    labels: payload.workflow_job.labels,
    status: answer.status,
    answer: await answer.json(),
  };
}

/** `name [labels]` of each pool, for messages. */
function poolList(config: Pick<Config, 'pools'>): string {
  return `pools: ${config.pools.map((p) => `${p.name} [${p.labels.join(', ')}]`).join('; ')}`;
}

/** The labels the demo job asks for: `--labels`, the labels of `--pool`, or the first pool's; a string is an error line. */
export function demoLabels(
  config: Pick<Config, 'pools'>,
  pool: string | undefined,
  labels: string | undefined,
): string[] | string {
  if (labels !== undefined) return parseLabelList(labels);
  const chosen = pool === undefined ? config.pools[0] : config.pools.find((p) => p.name === pool);
  if (!chosen) return `demo: no pool named ${JSON.stringify(pool)} (${poolList(config)})`;
  return [...chosen.labels];
}
