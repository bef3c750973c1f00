import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDynamoStore } from '../../../functions/adapters/dynamodb/dynamo-store.ts';
import { createLocalDynamoClient, ensureTable } from '../../../functions/adapters/dynamodb/ensure-table.ts';
import { startEmbeddedDynamo } from '../../../functions/adapters/local/embedded-dynamodb.ts';
import { createLocalLauncher } from '../../../functions/adapters/local/local-launcher.ts';
import { type GitHubSimulator, startGitHubSimulator } from '../../../functions/adapters/sandbox/github-simulator.ts';
import { SAMPLE_RUNNER_DIR } from '../../../functions/composition/local-app.ts';
import type { Job } from '../../../functions/domain/job.ts';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import { type Life, mostAlive, nanos, readLives, recordingRunnerDir } from '../../support/runner-lives.ts';
import { signedDelivery } from '../../support/webhook-fixtures.ts';
import { allowedLaunches, doubledLaunches, mintsByJob, OWNER, seeded } from '../support/reliability-world.ts';
import { pool as inParallel } from './pool.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface CapacitySize {
  /** Jobs queued at the start (the lone repository's one job comes on top). */
  jobs: number;
  /** Repositories sharing them, the busy one included (the lone one not). */
  repos: number;
  /** Of `jobs`, how many belong to the busy repository. */
  busyJobs: number;
  /** `maxRunners` of each of the two pools. */
  maxRunners: number;
  /** SIGKILLs of the server while the backlog is deep, each followed by a restart on the same state. */
  kills: number;
  /** Deliveries of already queued jobs under new delivery ids, posted in bursts after the start and each restart. */
  duplicates: number;
  /** How long a runner "runs" its job at the simulator. */
  jobDurationMs: number;
  /** For every job to end under the last server. */
  timeoutMs: number;
  seed: number;
}

export const CAPACITY_FAST: CapacitySize = {
  jobs: 36,
  repos: 4,
  busyJobs: 15,
  maxRunners: 3,
  kills: 1,
  duplicates: 12,
  jobDurationMs: 300,
  timeoutMs: 120_000,
  seed: 7,
};
export const CAPACITY_FULL: CapacitySize = {
  jobs: 300,
  repos: 10,
  busyJobs: 100,
  maxRunners: 5,
  kills: 2,
  duplicates: 150,
  jobDurationMs: 500,
  timeoutMs: 900_000,
  seed: 11,
};

/**
 * The two pools. Why each carries a label of its own (`small`, `large`) that its jobs ask for: GitHub hands a
 * queued job to any runner whose labels cover it, so a `large` runner labelled only x64 plus `large` would
 * take the oldest `small` job (a theft across pools), which the stolen-runner scenario covers; here every
 * runner a pool starts is meant to run a job of that pool, so its lives measure that pool's capacity.
 */
export const CAPACITY_POOLS = [
  { name: 'small', labels: ['self-hosted', 'linux', 'x64', 'small'] },
  { name: 'large', labels: ['self-hosted', 'linux', 'x64', 'large'] },
] as const;
type PoolName = (typeof CAPACITY_POOLS)[number]['name'];

export interface PoolFigures {
  name: PoolName;
  maxRunners: number;
  jobs: number;
  /** Runner processes started in the pool (from its lives file). */
  lives: number;
  /** Lives with a start and no end (a runner killed outright, or still running): counted alive to the end. */
  unended: number;
  /** The most of the pool's runners alive at any moment. */
  mostAlive: number;
  /**
   * Slot-seconds left unused while jobs of the pool were queued at GitHub: over time, the lesser of the free
   * slots (`maxRunners` minus runners alive) and the jobs queued. 0 when every free slot went to a waiting job at once.
   */
  unusedSlotSeconds: number;
  /** `maxRunners` × the seconds from the pool's first queued job to its last runner's end, for scale. */
  slotSeconds: number;
}

export interface Fairness {
  pool: PoolName;
  jobId: number;
  /** Jobs of the busy repository still queued at GitHub in the lone job's pool when it was queued. */
  busyBacklog: number;
  /** Runner starts in the pool after the lone job was queued and before the runner that ran it started. */
  startsAhead: number;
  /** Each repository with jobs in the pool gets at most one turn ahead of it. */
  bound: number;
  /** Under first-in first-out: jobs of the pool queued before it and not yet started when it was queued. */
  fifoAhead: number;
}

export interface CapacityResult {
  size: CapacitySize;
  /** The store's view of every job at the end (the lone job last). */
  jobs: Job[];
  /** Not ended in the store by the deadline. */
  lost: number[];
  /** Ended, but not `completed` with success. */
  notCompleted: { jobId: number; status: string; conclusion?: string | undefined; reason?: string | undefined }[];
  /** Not run exactly once at GitHub on a runner of its own pool (by the simulator's record and the pool's lives). */
  notRunOnce: { jobId: number; ranOn: string | null; why: string }[];
  /** Runners (name and registration id) that ran more than one job. */
  sharedRunners: string[];
  /** Jobs launched or minted more than their attempts and history explain (as the kill soak counts). */
  doubled: number[];
  mints: number;
  launches: number;
  pools: PoolFigures[];
  kills: { afterMs: number; queuedAtGitHub: number }[];
  duplicates: { posted: number; answers: Record<number, number>; refused: number };
  /** Jobs that went through `waiting-capacity` (turn or backlogSince set, or the status in their history). */
  waited: number;
  /** Recorded → launched, over the jobs that waited, milliseconds. */
  waitMs: { p50: number; max: number };
  fairness: Fairness | undefined;
  lingering: {
    registrations: string[];
    processes: string[];
    /** Slots and waiting repositories left in the pool records once the server was stopped. */
    slots: Record<string, string[]>;
    turns: Record<string, string[]>;
  };
  /** The failed checks, one line each (empty: all held). */
  failures: string[];
  /** `GET /jobs/<id>` of jobs named by a failed check (a few), for the report. */
  details: string[];
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

/** `npm start` as a child process (as the kill soak runs it), in GitHub mode against the scenario's simulator. */
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
      if (process.env.CAPACITY_LOG) appendFileSync(process.env.CAPACITY_LOG, chunk);
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
      await sleep(100);
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `holds()` or the deadline; resolves with whether it held. */
async function until(holds: () => boolean, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!holds()) {
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/**
 * Slot-seconds a pool left unused while its jobs were queued at GitHub: a sweep over runner starts and ends
 * and job queued → started times (epoch ms), integrating min(free slots, jobs queued).
 */
function unusedSlotSeconds(
  lives: readonly Life[],
  queued: readonly { from: number; to: number }[],
  maxRunners: number,
): { unused: number; span: number } {
  const toMs = (ns: bigint) => Number(ns / 1_000_000n);
  const events = [
    ...lives.flatMap((l) => [
      { at: toMs(l.start), alive: 1, waiting: 0 },
      ...(l.end === undefined ? [] : [{ at: toMs(l.end), alive: -1, waiting: 0 }]),
    ]),
    ...queued.flatMap((q) => [
      { at: q.from, alive: 0, waiting: 1 },
      { at: q.to, alive: 0, waiting: -1 },
    ]),
  ].sort((a, b) => a.at - b.at);
  let alive = 0;
  let waiting = 0;
  let unused = 0;
  let last = events[0]?.at ?? 0;
  for (const e of events) {
    unused += Math.max(0, Math.min(maxRunners - alive, waiting)) * (e.at - last);
    last = e.at;
    alive += e.alive;
    waiting += e.waiting;
  }
  return { unused: unused / 1000, span: ((events.at(-1)?.at ?? 0) - (events[0]?.at ?? 0)) / 1000 };
}

const waitedForCapacity = (job: Job) =>
  job.turn !== undefined ||
  job.backlogSince !== undefined ||
  job.history.some((e) => e.status === JobStatus.waitingCapacity);

interface Planned {
  repo: string;
  pool: PoolName;
}

/** The jobs in queue order: the busy repository's and the others' (round robin), shuffled; each repository's jobs alternate between the pools. */
function plan(size: CapacitySize, random: () => number): Planned[] {
  const repos = ['cap-busy', ...Array.from({ length: size.repos - 1 }, (_, i) => `cap-${i + 1}`)];
  const order: string[] = [
    ...Array.from({ length: size.busyJobs }, () => 'cap-busy'),
    ...Array.from({ length: size.jobs - size.busyJobs }, (_, i) => repos[1 + (i % (size.repos - 1))] as string),
  ];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as string, order[i] as string];
  }
  const seen = new Map<string, number>();
  return order.map((repo) => {
    const n = seen.get(repo) ?? 0;
    seen.set(repo, n + 1);
    return { repo, pool: n % 2 === 0 ? 'small' : 'large' };
  });
}

/**
 * Capacity under load and crashes (docs/reliability.md): the local server, started like `npm start` (GitHub
 * mode against the simulator, embedded store, local launcher), with two pools of `maxRunners` each, each
 * starting its runners from its own recording copy of the sample runner. All jobs are queued at once (one
 * busy repository holding a third of them), so most wait in the pools' backlogs; duplicate deliveries of the
 * same jobs come under new delivery ids; the server is SIGKILLed at seeded moments while the backlog is deep
 * and restarted on the same state and port. Then one job of a lone repository is queued while the busy one
 * still has a deep backlog. The runners write their own lives, so a killed server cannot hide a runner
 * beyond the cap.
 */
export async function runCapacity(
  size: CapacitySize,
  onCleanup: (cleanup: () => Promise<void>) => void = () => {},
): Promise<CapacityResult> {
  const started = Date.now();
  const random = seeded(size.seed);
  const sim: GitHubSimulator = await startGitHubSimulator({
    jobDurationMs: size.jobDurationMs,
    pollMs: 300,
    offlineAfterMs: 1_500,
  });
  const root = await mkdtemp(join(tmpdir(), 'jit-runners-capacity-soak-'));
  const stateDir = join(root, 'state');
  const livesFile = (name: string) => join(root, `${name}-lives.txt`);
  const pools = await Promise.all(
    CAPACITY_POOLS.map(async (p) => ({
      ...p,
      labels: [...p.labels],
      maxRunners: size.maxRunners,
      runnerDir: await recordingRunnerDir(root, livesFile(p.name), `${p.name}-runner`),
    })),
  );
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
    RUNNER_POOLS: JSON.stringify(pools),
    PORT: String(port),
    STATE_DIR: stateDir,
    RECONCILE_INTERVAL_SECONDS: '1',
    RUNNER_START_TIMEOUT_SECONDS: '20',
    LOG_LEVEL: process.env.CAPACITY_LOG ? 'DEBUG' : 'WARN',
  };
  const server = new Server(env, `http://127.0.0.1:${port}`);
  const workRoot = join(stateDir, 'runners');
  const cleanup = async () => {
    await server.kill('SIGTERM').catch(() => undefined);
    // Runners a killed server left behind are stopped through their pid files.
    const launcher = createLocalLauncher({ runnerDir: SAMPLE_RUNNER_DIR, workRoot });
    for (const l of await launcher.listActive().catch(() => [])) await launcher.stop(l.launchId).catch(() => undefined);
    await sim.close();
    await rm(root, { recursive: true, force: true });
  };
  onCleanup(cleanup);

  // ── Queue everything at once ──
  const planned = plan(size, random);
  const labelsOf = (pool: PoolName) => CAPACITY_POOLS.find((p) => p.name === pool)?.labels ?? [];
  const jobs = new Map<number, Planned & { queuedAt: number; payload: Record<string, unknown> }>();
  await server.start();
  sim.configureWebhook({ url: `${server.url}/webhook`, secret });
  for (const p of planned) {
    const payload = sim.queueJob({ owner: OWNER, repo: p.repo, labels: labelsOf(p.pool), deliver: true });
    jobs.set((payload.workflow_job as { id: number }).id, { ...p, queuedAt: Date.now(), payload });
  }
  const ids = [...jobs.keys()];

  // ── Duplicates: the same jobs under new delivery ids, a burst after the start and after each restart ──
  const answers: Record<number, number> = {};
  let refused = 0;
  let posted = 0;
  const duplicateBurst = async (count: number) => {
    const picks = Array.from({ length: count }, () => ids[Math.floor(random() * ids.length)] as number);
    await inParallel(picks.length, 8, async (i) => {
      const jobId = picks[i] as number;
      const d = await signedDelivery(secret, jobs.get(jobId)?.payload, { deliveryId: `dup-${posted}-${i}-${jobId}` });
      try {
        const res = await fetch(`${server.url}/webhook`, { method: 'POST', headers: d.headers, body: d.body });
        await res.arrayBuffer();
        answers[res.status] = (answers[res.status] ?? 0) + 1;
      } catch {
        refused += 1;
      }
    });
    posted += count;
  };
  const bursts = size.kills + 1;
  await duplicateBurst(Math.floor(size.duplicates / bursts));

  // ── SIGKILLs while the backlog is deep: each when the jobs still queued at GitHub fall under a seeded share ──
  const queuedAtGitHub = (filter: (id: number) => boolean = () => true) =>
    sim.jobs.filter((j) => j.status === 'queued' && jobs.has(j.id) && filter(j.id)).length;
  const kills: CapacityResult['kills'] = [];
  for (let k = 0; k < size.kills; k++) {
    const high = 0.85 - (0.4 * k) / size.kills;
    const share = high - (0.4 / size.kills) * random();
    await until(() => queuedAtGitHub() <= Math.floor(share * ids.length), size.timeoutMs);
    kills.push({ afterMs: Date.now() - started, queuedAtGitHub: queuedAtGitHub() });
    await server.kill('SIGKILL');
    await sleep(Math.round(random() * 1_000));
    await server.start();
    await duplicateBurst(k === size.kills - 1 ? size.duplicates - posted : Math.floor(size.duplicates / bursts));
  }

  // ── The lone repository's one job, in the small pool, while the busy repository still has a backlog there ──
  const lonePool: PoolName = 'small';
  const inLonePool = (id: number) => jobs.get(id)?.pool === lonePool;
  const busyBacklog = queuedAtGitHub((id) => inLonePool(id) && jobs.get(id)?.repo === 'cap-busy');
  const lonePayload = sim.queueJob({ owner: OWNER, repo: 'cap-lone', labels: labelsOf(lonePool), deliver: true });
  const loneId = (lonePayload.workflow_job as { id: number }).id;
  jobs.set(loneId, { repo: 'cap-lone', pool: lonePool, queuedAt: Date.now(), payload: lonePayload });
  const allIds = [...ids, loneId];

  // ── Everything must end under the last server ──
  const deadline = Date.now() + size.timeoutMs;
  const terminal = new Map<number, Job>();
  while (Date.now() < deadline && terminal.size < allIds.length) {
    for (const id of allIds) {
      if (terminal.has(id)) continue;
      const job = await server.job(id);
      if (job && (job.status === JobStatus.completed || job.status === JobStatus.failed)) terminal.set(id, job);
    }
    if (terminal.size < allIds.length) await sleep(300);
  }
  const lost = allIds.filter((id) => !terminal.has(id));

  // Nothing may linger: registrations of ours at "GitHub", runner processes on this machine.
  const launcher = createLocalLauncher({ runnerDir: SAMPLE_RUNNER_DIR, workRoot });
  const ourRegistrations = () =>
    sim
      .runners()
      .filter((r) => /^jr-\d+-\d+$/.test(r.name))
      .map((r) => r.name)
      .sort();
  let lingering = { registrations: ourRegistrations(), processes: [] as string[] };
  const lingerDeadline = Date.now() + 30_000;
  do {
    lingering = {
      registrations: ourRegistrations(),
      processes: (await launcher.listActive()).map((l) => l.runnerName).sort(),
    };
    if (lingering.registrations.length + lingering.processes.length === 0) break;
    await sleep(500);
  } while (Date.now() < lingerDeadline);

  // ── What ran where ──
  const lives = new Map<PoolName, Life[]>();
  for (const p of CAPACITY_POOLS) lives.set(p.name, await readLives(livesFile(p.name)));
  const poolOfRunner = new Map<string, PoolName>();
  for (const [name, ls] of lives) for (const l of ls) poolOfRunner.set(l.runner, name);
  const simJobs = new Map(sim.jobs.filter((j) => jobs.has(j.id)).map((j) => [j.id, j]));
  const notRunOnce: CapacityResult['notRunOnce'] = [];
  const ranBy = new Map<string, number[]>();
  for (const id of allIds) {
    const s = simJobs.get(id);
    const want = jobs.get(id)?.pool;
    const ranOn = s?.runnerName ?? null;
    // By registration: a robbed job may mint its runner's name again once that runner is gone (its history
    // says so), so one name can be two runners, each running one job.
    if (ranOn) {
      const key = `${ranOn} (runner id ${s?.runnerId})`;
      ranBy.set(key, [...(ranBy.get(key) ?? []), id]);
    }
    if (s?.status !== 'completed' || s.conclusion !== 'success' || !ranOn)
      notRunOnce.push({ jobId: id, ranOn, why: `at GitHub ${s?.status ?? 'unknown'}/${s?.conclusion ?? '-'}` });
    else if (poolOfRunner.get(ranOn) !== want)
      notRunOnce.push({
        jobId: id,
        ranOn,
        why: `ran on ${poolOfRunner.get(ranOn) ?? 'no recorded runner'}, not ${want}`,
      });
  }
  const sharedRunners = [...ranBy.entries()].filter(([, js]) => js.length > 1).map(([name]) => name);
  const ended = [...terminal.values()];
  const notCompleted = ended
    .filter((j) => j.status !== JobStatus.completed || j.conclusion !== 'success')
    .map((j) => ({ jobId: j.jobId, status: j.status, conclusion: j.conclusion, reason: j.reason }));

  // Launches (one directory per runner name under the work root) and mints, as the kill soak counts them.
  const launchedNames = (await readdir(workRoot).catch(() => [] as string[])).filter((n) => /^jr-\d+-\d+$/.test(n));
  const mints = mintsByJob(sim);
  const minted = [...mints.values()].flat();
  const stolenFrom = (jobId: number) =>
    sim.jobs.filter((j) => j.id !== jobId && j.runnerName?.startsWith(`jr-${jobId}-`)).length;
  const doubled = [
    ...new Set([
      ...doubledLaunches(launchedNames, ended),
      ...ended
        .filter(
          (job) =>
            minted.filter((n) => n.startsWith(`jr-${job.jobId}-`)).length >
            allowedLaunches(job) + stolenFrom(job.jobId),
        )
        .map((job) => job.jobId),
    ]),
  ];

  const poolFigures: PoolFigures[] = CAPACITY_POOLS.map((p) => {
    const ls = lives.get(p.name) ?? [];
    const queued = allIds
      .filter((id) => jobs.get(id)?.pool === p.name)
      .map((id) => ({
        from: simJobs.get(id)?.createdAt ?? 0,
        to: simJobs.get(id)?.startedAt ?? simJobs.get(id)?.completedAt ?? Date.now(),
      }));
    const slotUse = unusedSlotSeconds(ls, queued, size.maxRunners);
    return {
      name: p.name,
      maxRunners: size.maxRunners,
      jobs: allIds.filter((id) => jobs.get(id)?.pool === p.name).length,
      lives: ls.length,
      unended: ls.filter((l) => l.end === undefined).length,
      mostAlive: mostAlive(ls),
      unusedSlotSeconds: Math.round(slotUse.unused),
      slotSeconds: Math.round(slotUse.span * size.maxRunners),
    };
  });

  // ── Waiting for capacity ──
  const waitedJobs = ended.filter(waitedForCapacity);
  const waits = waitedJobs
    .filter((j) => j.launchedAt !== undefined)
    .map((j) => (j.launchedAt as number) - j.createdAt)
    .sort((a, b) => a - b);

  // ── Fairness: the lone job against the busy repository's backlog ──
  let fairness: Fairness | undefined;
  const loneSim = simJobs.get(loneId);
  const loneRunner = loneSim?.runnerName ?? undefined;
  const loneLife = (lives.get(lonePool) ?? []).find((l) => l.runner === loneRunner);
  const loneQueuedAt = jobs.get(loneId)?.queuedAt ?? 0;
  if (loneLife) {
    const from = nanos(loneQueuedAt);
    fairness = {
      pool: lonePool,
      jobId: loneId,
      busyBacklog,
      startsAhead: (lives.get(lonePool) ?? []).filter((l) => l.start > from && l.start < loneLife.start).length,
      bound: new Set(ids.filter(inLonePool).map((id) => jobs.get(id)?.repo)).size,
      fifoAhead: ids.filter((id) => {
        const s = simJobs.get(id);
        return (
          inLonePool(id) &&
          (jobs.get(id)?.queuedAt ?? 0) <= loneQueuedAt &&
          (s?.startedAt === null || s?.startedAt === undefined || s.startedAt > loneQueuedAt)
        );
      }).length,
    };
  }

  // ── Checks, and the jobs they name ──
  const failures: string[] = [];
  const named = new Set<number>();
  const fail = (what: string, jobIds: readonly number[] = []) => {
    failures.push(jobIds.length > 0 ? `${what}: ${jobIds.slice(0, 10).join(', ')}` : what);
    for (const id of jobIds.slice(0, 3)) named.add(id);
  };
  for (const p of poolFigures) {
    if (p.mostAlive > p.maxRunners) fail(`pool ${p.name}: ${p.mostAlive} runners alive at once (max ${p.maxRunners})`);
  }
  if (lost.length > 0) fail(`${lost.length} jobs not ended`, lost);
  if (notCompleted.length > 0)
    fail(
      `${notCompleted.length} jobs ended without success`,
      notCompleted.map((j) => j.jobId),
    );
  if (notRunOnce.length > 0)
    fail(
      `${notRunOnce.length} jobs not run once on a runner of their pool (${notRunOnce
        .slice(0, 3)
        .map((j) => `${j.jobId} ${j.why}`)
        .join('; ')})`,
      notRunOnce.map((j) => j.jobId),
    );
  if (sharedRunners.length > 0) fail(`runners that ran two jobs: ${sharedRunners.slice(0, 5).join(', ')}`);
  if (doubled.length > 0) fail(`${doubled.length} jobs launched or minted twice`, doubled);
  if (waitedJobs.length === 0) fail('no job waited for capacity');
  if (!fairness) fail('the lone job ran on no recorded runner of its pool', [loneId]);
  else if (fairness.startsAhead > fairness.bound)
    fail(
      `the lone job waited for ${fairness.startsAhead} runner starts (at most ${fairness.bound}: one turn per repository)`,
      [loneId],
    );
  if (lingering.registrations.length + lingering.processes.length > 0)
    fail(
      `left behind: ${lingering.registrations.length} registrations, ${lingering.processes.length} processes (${[
        ...lingering.registrations,
        ...lingering.processes,
      ]
        .slice(0, 5)
        .join(', ')})`,
    );
  const details: string[] = [];
  for (const id of named) details.push(`GET /jobs/${id}: ${JSON.stringify(await server.job(id))}`);

  // ── The pool records, read from the state once the server is stopped (the store is the server's while it runs) ──
  await server.kill('SIGTERM');
  const slots: Record<string, string[]> = {};
  const turns: Record<string, string[]> = {};
  const embedded = await startEmbeddedDynamo({ dir: join(stateDir, 'dynamodb') });
  const client = createLocalDynamoClient(embedded.endpoint);
  try {
    const table = await ensureTable(client, 'jit-runners');
    const store = createDynamoStore({ client, tableName: 'jit-runners', backlogIndex: table.backlogIndex });
    for (const p of CAPACITY_POOLS) {
      const record = await store.pools.get(p.name);
      slots[p.name] = Object.keys(record?.slots ?? {});
      turns[p.name] = Object.keys(record?.turns ?? {});
      if (slots[p.name]?.length || turns[p.name]?.length) {
        fail(
          `pool ${p.name} record left with slots ${JSON.stringify(record?.slots)} turns ${JSON.stringify(record?.turns)}`,
        );
        for (const name of slots[p.name] ?? []) {
          const jobId = record?.slots[name]?.jobId;
          if (jobId !== undefined)
            details.push(`job ${jobId} (slot ${name}): ${JSON.stringify(await store.jobs.get(jobId))}`);
        }
      }
    }
  } finally {
    client.destroy();
    await embedded.close();
  }
  if (process.env.CAPACITY_DEBUG && failures.length > 0)
    details.push(`server output tail:\n${server.output.slice(-8000)}`);

  return {
    size,
    jobs: allIds.map((id) => terminal.get(id)).filter((j): j is Job => j !== undefined),
    lost,
    notCompleted,
    notRunOnce,
    sharedRunners,
    doubled,
    mints: minted.length,
    launches: launchedNames.length,
    pools: poolFigures,
    kills,
    duplicates: { posted, answers, refused },
    waited: waitedJobs.length,
    waitMs: { p50: percentile(waits, 50), max: waits.at(-1) ?? 0 },
    fairness,
    lingering: { ...lingering, slots, turns },
    failures,
    details,
    elapsedMs: Date.now() - started,
  };
}
