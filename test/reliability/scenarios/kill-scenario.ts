import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalLauncher } from '../../../functions/adapters/local/local-launcher.ts';
import { type GitHubSimulator, startGitHubSimulator } from '../../../functions/adapters/sandbox/github-simulator.ts';
import { SAMPLE_RUNNER_DIR } from '../../../functions/composition/local-app.ts';
import type { Job } from '../../../functions/domain/job.ts';
import { allowedLaunches, doubledLaunches, LABELS, mintsByJob, OWNER, seeded } from '../support/reliability-world.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface KillSize {
  kills: number;
  /** Jobs queued before each kill (and once more after the last restart). */
  jobsPerWave: number;
  repos: number;
  timeoutMs: number;
}

export const KILL_FAST: KillSize = { kills: 3, jobsPerWave: 4, repos: 2, timeoutMs: 120_000 };
export const KILL_FULL: KillSize = { kills: 10, jobsPerWave: 10, repos: 4, timeoutMs: 300_000 };

export interface KillResult {
  kills: number;
  /** Milliseconds after the wave each kill came (seeded random). */
  killedAfterMs: number[];
  jobs: Job[];
  lost: number[];
  /** Jobs launched twice: a name launched twice, or more launches than attempts. */
  doubled: number[];
  /** Jobs with a runner name minted twice (a name reused after its runner ended; counted in `doubled` unless the job's history explains it). */
  mintedTwice: number[];
  /** Runner launches in all (one directory per launch under the work root). */
  launches: number;
  lingering: { registrations: string[]; processes: string[] };
  elapsedMs: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** `npm start` as a child process, in GitHub mode against the test's simulator (which must outlive it). */
class Server {
  child: ChildProcess | undefined;
  output = '';
  constructor(
    private readonly env: Record<string, string>,
    readonly url: string,
  ) {}

  async start(timeoutMs = 30_000): Promise<void> {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'functions/cli/main.ts', 'start'], {
      cwd: ROOT,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.output = `${this.output}${chunk.toString('utf8')}`.slice(-20_000);
      if (process.env.KILL_LOG) appendFileSync(process.env.KILL_LOG, chunk);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${this.url}/healthz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (this.child.exitCode !== null) throw new Error(`server exited at start-up:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server did not answer /healthz in ${timeoutMs} ms:\n${this.output}`);
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((r) => {
      child.once('exit', () => r());
      child.kill(signal);
    });
  }

  async job(id: number): Promise<Job | undefined> {
    try {
      const res = await fetch(`${this.url}/jobs/${id}`);
      return res.status === 200 ? ((await res.json()) as Job) : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * Crash safety (docs/design.md "Crash safety"): the local server, started like `npm start` (GitHub mode against the test's
 * simulator, embedded store, local launcher with the sample runner), is killed with SIGKILL at random
 * points while jobs flow, and restarted on the same state directory and port. Runner processes outlive it
 * (their own process groups), webhooks sent while it is down fail (the reconciler redelivers them).
 * Every job must still end completed or failed with a reason; none lost, none run twice, nothing left.
 */
export async function runKills(
  size: KillSize,
  onCleanup: (cleanup: () => Promise<void>) => void = () => {},
): Promise<KillResult> {
  const started = Date.now();
  const random = seeded(size.kills * 1000 + size.jobsPerWave);
  const sim: GitHubSimulator = await startGitHubSimulator({ jobDurationMs: 500, pollMs: 300, offlineAfterMs: 1_500 });
  const stateDir = await mkdtemp(join(tmpdir(), 'jit-runners-kill-'));
  const port = await freePort();
  const secret = randomBytes(16).toString('hex');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    GITHUB_APP_ID: String(sim.appId),
    GITHUB_APP_PRIVATE_KEY: sim.privateKey,
    GITHUB_API_URL: sim.apiUrl,
    GITHUB_SERVER_URL: sim.serverUrl,
    GITHUB_WEBHOOK_SECRET: secret,
    RUNNER_DIR: SAMPLE_RUNNER_DIR,
    PORT: String(port),
    STATE_DIR: stateDir,
    RECONCILE_INTERVAL_SECONDS: '1',
    RUNNER_START_TIMEOUT_SECONDS: '15',
    LOG_LEVEL: process.env.KILL_LOG ? 'DEBUG' : 'WARN',
  };
  const server = new Server(env, `http://127.0.0.1:${port}`);
  const cleanup = async () => {
    await server.kill('SIGTERM').catch(() => undefined);
    // Runners a killed server left behind are stopped through their pid files.
    const launcher = createLocalLauncher({ runnerDir: SAMPLE_RUNNER_DIR, workRoot: join(stateDir, 'runners') });
    for (const l of await launcher.listActive().catch(() => [])) await launcher.stop(l.launchId).catch(() => undefined);
    await sim.close();
    await rm(stateDir, { recursive: true, force: true });
  };
  onCleanup(cleanup);

  const repos = Array.from({ length: size.repos }, (_, i) => `kill-${i}`);
  const ids: number[] = [];
  const queueWave = () => {
    for (let i = 0; i < size.jobsPerWave; i++) {
      const payload = sim.queueJob({
        owner: OWNER,
        repo: repos[ids.length % repos.length] as string,
        labels: LABELS,
        deliver: true,
      });
      ids.push((payload.workflow_job as { id: number }).id);
    }
  };

  await server.start();
  sim.configureWebhook({ url: `${server.url}/webhook`, secret });
  const killedAfterMs: number[] = [];
  for (let k = 0; k < size.kills; k++) {
    queueWave();
    const after = Math.round(200 + random() * 2_500);
    killedAfterMs.push(after);
    await new Promise((r) => setTimeout(r, after));
    await server.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, Math.round(random() * 1_000)));
    await server.start();
  }
  queueWave();

  // Everything must settle under the last server.
  const deadline = Date.now() + size.timeoutMs;
  const terminal = new Map<number, Job>();
  while (Date.now() < deadline && terminal.size < ids.length) {
    for (const id of ids) {
      if (terminal.has(id)) continue;
      const job = await server.job(id);
      if (job && (job.status === 'completed' || job.status === 'failed')) terminal.set(id, job);
    }
    if (terminal.size < ids.length) await new Promise((r) => setTimeout(r, 300));
  }
  const lost = ids.filter((id) => !terminal.has(id));
  if (process.env.KILL_DEBUG) {
    for (const id of lost) {
      const job = await server.job(id);
      process.stdout.write(`LOST ${id} sim=${JSON.stringify(sim.job(id))}\n store=${JSON.stringify(job)}\n`);
    }
  }
  // Every launch leaves its directory (pruned to runner.log) under the work root, whichever server made it.
  const launchedNames = (await readdir(join(stateDir, 'runners')).catch(() => [] as string[])).filter((n) =>
    /^jr-\d+-\d+$/.test(n),
  );
  // A name launched again reuses its directory, so the mints (every registration GitHub made) count too.
  const minted = [...mintsByJob(sim).values()].flat();
  // Beyond what the history explains, each of the job's runners that ran another job (a theft the crash
  // kept from being recorded) justifies one more.
  const stolenFrom = (jobId: number) =>
    sim.jobs.filter((j) => j.id !== jobId && j.runnerName?.startsWith(`jr-${jobId}-`)).length;
  const jobs = [...terminal.values()];
  const doubled = [
    ...new Set([
      ...doubledLaunches(launchedNames, jobs),
      ...jobs
        .filter(
          (job) =>
            minted.filter((n) => n.startsWith(`jr-${job.jobId}-`)).length >
            allowedLaunches(job) + stolenFrom(job.jobId),
        )
        .map((job) => job.jobId),
    ]),
  ];
  const mintedTwice = [...mintsByJob(sim).entries()]
    .filter(([, names]) => new Set(names).size !== names.length)
    .map(([id]) => id);

  // Nothing may linger: registrations of ours at "GitHub", runner processes on this machine.
  const launcher = createLocalLauncher({ runnerDir: SAMPLE_RUNNER_DIR, workRoot: join(stateDir, 'runners') });
  let lingering = { registrations: [] as string[], processes: [] as string[] };
  const lingerDeadline = Date.now() + 20_000;
  do {
    lingering = {
      registrations: sim
        .runners()
        .filter((r) => /^jr-\d+-\d+$/.test(r.name))
        .map((r) => r.name)
        .sort(),
      processes: (await launcher.listActive()).map((l) => l.runnerName).sort(),
    };
    if (lingering.registrations.length + lingering.processes.length === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  } while (Date.now() < lingerDeadline);
  if (process.env.KILL_DEBUG) {
    for (const name of lingering.registrations) {
      const view = sim.runners().find((r) => r.name === name);
      const jobId = Number(name.split('-')[1]);
      process.stdout.write(
        `LINGER ${name} sim=${JSON.stringify(view)}\n store=${JSON.stringify(await server.job(jobId))}\n simjob=${JSON.stringify(sim.job(jobId))}\n`,
      );
    }
    // What `doubled` and `mintedTwice` counted: the simulator's mints and the launches next to the job.
    for (const id of new Set([...doubled, ...mintedTwice])) {
      const names = launchedNames.filter((n) => n.startsWith(`jr-${id}-`));
      process.stdout.write(
        `DOUBLED ${id} mints=${JSON.stringify(mintsByJob(sim).get(id))} launched=${JSON.stringify(names)} stolenFrom=${stolenFrom(id)}\n store=${JSON.stringify(await server.job(id))}\n`,
      );
    }
    process.stdout.write(`SERVER OUTPUT TAIL\n${server.output.slice(-8000)}\n`);
  }

  return {
    kills: size.kills,
    killedAfterMs,
    jobs: ids.map((id) => terminal.get(id)).filter((j): j is Job => j !== undefined),
    lost,
    doubled,
    mintedTwice,
    launches: launchedNames.length,
    lingering,
    elapsedMs: Date.now() - started,
  };
}
