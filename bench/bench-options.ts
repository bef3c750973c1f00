import { parseArgs } from 'node:util';
import { type DeliveryKind, parseMix } from './deliveries.ts';

export const Phase = {
  ack: 'ack',
  critical: 'critical',
  burst: 'burst',
  throughput: 'throughput',
  bundles: 'bundles',
  cold: 'cold',
  capacity: 'capacity',
  boot: 'boot',
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];
const ALL_PHASES = Object.values(Phase);

export interface BenchOptions {
  json: boolean;
  /** `--quiet`: no progress on stderr (the figures still print). */
  quiet: boolean;
  phases: Phase[];
  latencies: { githubMs: number; storeMs: number; launchMs: number };
  repos: number;
  ack: { rate: number; samples: number; warmup: number; mix: DeliveryKind[] };
  throughput: { rates: number[]; minStepMs: number; minSamples: number; p99LimitMs: number };
  critical: { rate: number; jobs: number };
  burst: { jobs: number; timeoutMs: number };
  cold: { runs: number };
  capacity: { jobs: number; maxRunners: number; idleMs: number; reconcileIntervalSeconds: number; sequential: number };
  /** The boot phase: simulated platform latencies and sizes (warm runners against cold launches). */
  boot: {
    coldBootMs: number;
    runnerStartMs: number;
    handoffReadMs: number;
    warmSize: number;
    coldJobs: number;
    warmRounds: number;
  };
  /** Also write the JSON report to this file. */
  save: string | undefined;
  /** Experiments: the GitHub client's in-flight limit (default: the app's own wiring). */
  githubMaxConcurrent: number | undefined;
  /** Where bundles go (git-ignored). */
  outDir: string;
  /** Write `.cpuprofile`s of the helper processes here (run the bench itself with `node --cpu-prof`). */
  profileDir: string | undefined;
}

export class UsageError extends Error {
  constructor(
    message: string,
    /** `--help`: the message is the usage text, printed on stdout with exit 0. */
    readonly help = false,
  ) {
    super(message);
  }
}

export const USAGE = `npm run bench [-- options]

  --json                       print one JSON object (nothing else on stdout)
  --quiet                      no progress on stderr (phases with elapsed time; a bar on a terminal)
  --save FILE                  also write that JSON object to FILE
  --out-dir DIR                where the handler bundles go (default .bench/bundles, git-ignored)
  --quick                      tiny sizes (smoke run; percentiles then come from few samples)
  --only ack,critical,burst,throughput,bundles,cold,capacity,boot
  --github-latency-ms N        simulated GitHub answer latency (default 80)
  --store-latency-ms N         minimum DynamoDB round trip (default 5)
  --launch-latency-ms N        simulated StartBuild/RunInstances latency (default 150)
  --repos N                    repositories jobs are spread over (default 20)
  --ack-rate N                 deliveries/s of the ack phase (default 200)
  --ack-samples N              measured deliveries (default 2400)
  --mix served:1,unserved:1,duplicate:1
  --throughput-rates a,b,...   offered rates tried in order (default 200,300,400,500,600,800,1000,1250,1500,2000,2500)
  --critical-jobs N            jobs timed queued → launch (default 2000)
  --critical-rate N            jobs/s of that phase (default 50)
  --burst-jobs N               jobs delivered at once (default 1000)
  --cold-runs N                fresh processes per function (default 5)
  --capacity-jobs N            jobs queued at once into the capped pool (default 50)
  --capacity-max-runners N     that pool's maxRunners (default 5)
  --capacity-idle-s N          idle window with the pool full (default 15; reconciler every 5 s)
  --cold-boot-ms N             boot phase: simulated build/instance boot of a cold launch (default 25000)
  --runner-start-ms N          boot phase: the runner's start to its first poll (default 3000)
  --handoff-read-ms N          boot phase: a warm runner reading its hand-off (default 50)
  --warm-size N                boot phase: the warm pool's warm (default 4; the burst is twice this)
  --profile-dir DIR            write .cpuprofile files of the helper processes to DIR
  --github-max-concurrent N    experiment: GitHub client in-flight limit instead of the app's default
  --help, -h                   print this and exit`;

const QUICK = {
  ack: { rate: 50, samples: 40, warmup: 10 },
  throughput: { rates: [100], minStepMs: 300, minSamples: 30 },
  critical: { rate: 20, jobs: 12 },
  burst: { jobs: 20 },
  cold: { runs: 1 },
  capacity: { jobs: 12, maxRunners: 3, idleS: 3, reconcileIntervalSeconds: 1, sequential: 5 },
  boot: { coldBootMs: 1500, runnerStartMs: 300, handoffReadMs: 50, warmSize: 2, coldJobs: 2, warmRounds: 1 },
};

function int(value: string | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}`);
  return n;
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        json: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        quick: { type: 'boolean' },
        only: { type: 'string' },
        'github-latency-ms': { type: 'string' },
        'store-latency-ms': { type: 'string' },
        'launch-latency-ms': { type: 'string' },
        repos: { type: 'string' },
        'ack-rate': { type: 'string' },
        'ack-samples': { type: 'string' },
        mix: { type: 'string' },
        'throughput-rates': { type: 'string' },
        'critical-jobs': { type: 'string' },
        'critical-rate': { type: 'string' },
        'burst-jobs': { type: 'string' },
        'cold-runs': { type: 'string' },
        'capacity-jobs': { type: 'string' },
        'capacity-max-runners': { type: 'string' },
        'capacity-idle-s': { type: 'string' },
        'cold-boot-ms': { type: 'string' },
        'runner-start-ms': { type: 'string' },
        'handoff-read-ms': { type: 'string' },
        'warm-size': { type: 'string' },
        'out-dir': { type: 'string' },
        'profile-dir': { type: 'string' },
        'github-max-concurrent': { type: 'string' },
        save: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    // parseArgs adds a second sentence of advice about `--`; one line is enough here.
    throw new UsageError((error as Error).message.split(/\.\s/)[0] ?? 'bad arguments');
  }
  if (values.help) throw new UsageError(USAGE, true);
  const s = (name: string) => values[name] as string | undefined;
  const quick = values.quick === true;

  const phases = (s('only')
    ?.split(',')
    .map((p) => p.trim()) ?? ALL_PHASES) as Phase[];
  for (const p of phases) if (!ALL_PHASES.includes(p)) throw new UsageError(`--only: unknown phase ${p}`);

  let mix: DeliveryKind[];
  try {
    // Equal thirds: the neutral reading of "a mix of served, unserved and duplicate deliveries".
    mix = parseMix(s('mix') ?? 'served:1,unserved:1,duplicate:1');
  } catch (error) {
    throw new UsageError(`--mix: ${(error as Error).message}`);
  }
  const rates = s('throughput-rates')
    ?.split(',')
    .map((r, i) => int(r.trim(), `throughput-rates[${i}]`, 0));

  const ackSamples = int(s('ack-samples'), 'ack-samples', quick ? QUICK.ack.samples : 2400);
  return {
    json: values.json === true,
    quiet: values.quiet === true,
    phases,
    latencies: {
      githubMs: int(s('github-latency-ms'), 'github-latency-ms', 80, 0),
      storeMs: int(s('store-latency-ms'), 'store-latency-ms', 5, 0),
      launchMs: int(s('launch-latency-ms'), 'launch-latency-ms', 150, 0),
    },
    repos: int(s('repos'), 'repos', quick ? 4 : 20),
    ack: {
      rate: int(s('ack-rate'), 'ack-rate', quick ? QUICK.ack.rate : 200),
      samples: ackSamples,
      warmup: quick ? QUICK.ack.warmup : Math.min(400, Math.ceil(ackSamples / 6)),
      mix,
    },
    throughput: {
      rates: rates ?? (quick ? QUICK.throughput.rates : [200, 300, 400, 500, 600, 800, 1000, 1250, 1500, 2000, 2500]),
      minStepMs: quick ? QUICK.throughput.minStepMs : 3000,
      minSamples: quick ? QUICK.throughput.minSamples : 2000,
      p99LimitMs: 100,
    },
    critical: {
      rate: int(s('critical-rate'), 'critical-rate', quick ? QUICK.critical.rate : 50),
      jobs: int(s('critical-jobs'), 'critical-jobs', quick ? QUICK.critical.jobs : 2000),
    },
    burst: { jobs: int(s('burst-jobs'), 'burst-jobs', quick ? QUICK.burst.jobs : 1000), timeoutMs: 120_000 },
    cold: { runs: int(s('cold-runs'), 'cold-runs', quick ? QUICK.cold.runs : 5) },
    capacity: {
      jobs: int(s('capacity-jobs'), 'capacity-jobs', quick ? QUICK.capacity.jobs : 50),
      maxRunners: int(s('capacity-max-runners'), 'capacity-max-runners', quick ? QUICK.capacity.maxRunners : 5),
      idleMs: 1000 * int(s('capacity-idle-s'), 'capacity-idle-s', quick ? QUICK.capacity.idleS : 15),
      reconcileIntervalSeconds: quick ? QUICK.capacity.reconcileIntervalSeconds : 5,
      sequential: quick ? QUICK.capacity.sequential : 25,
    },
    boot: {
      coldBootMs: int(s('cold-boot-ms'), 'cold-boot-ms', quick ? QUICK.boot.coldBootMs : 25_000, 0),
      runnerStartMs: int(s('runner-start-ms'), 'runner-start-ms', quick ? QUICK.boot.runnerStartMs : 3_000, 0),
      handoffReadMs: int(s('handoff-read-ms'), 'handoff-read-ms', quick ? QUICK.boot.handoffReadMs : 50, 0),
      warmSize: int(s('warm-size'), 'warm-size', quick ? QUICK.boot.warmSize : 4),
      coldJobs: quick ? QUICK.boot.coldJobs : 8,
      warmRounds: quick ? QUICK.boot.warmRounds : 2,
    },
    outDir: s('out-dir') ?? '.bench/bundles',
    profileDir: s('profile-dir'),
    save: s('save'),
    githubMaxConcurrent:
      s('github-max-concurrent') === undefined
        ? undefined
        : int(s('github-max-concurrent'), 'github-max-concurrent', 0),
  };
}
