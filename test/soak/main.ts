/**
 * `npm run soak`: the reliability runs at full size, printing the counts. The same scenarios
 * run at small sizes in `npm test` (test/reliability). Exit code 1 when any run loses, doubles or leaves
 * something behind, or breaks a pool's cap or its fairness (capacity). `npm run soak -- load kills` runs only the named parts; `--help` lists them.
 */
import { parseArgs } from 'node:util';
import { createProgress } from '../../functions/cli/progress.ts';
import type { CapacityResult } from '../reliability/scenarios/capacity-scenario.ts';
import type { FaultsResult } from '../reliability/scenarios/faults-scenario.ts';
import type { FuzzResult } from '../reliability/scenarios/fuzz-scenario.ts';
import type { KillResult } from '../reliability/scenarios/kill-scenario.ts';
import type { LoadResult } from '../reliability/scenarios/load-scenario.ts';
import type { MissedResult } from '../reliability/scenarios/missed-webhook-scenario.ts';
import type { StolenResult } from '../reliability/scenarios/stolen-scenario.ts';
import type { World } from '../reliability/support/reliability-world.ts';

// The AWS SDK prints a Node 22 notice on every client; the CLI hides it the same way.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : `${warning.name} ${warning.message}`;
  if (text.includes('NodeVersionSupportWarning') || String(rest[0]).includes('NodeVersionSupportWarning')) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

const PARTS = ['load', 'faults', 'kills', 'missed', 'stolen', 'fuzz', 'capacity'] as const;
type Part = (typeof PARTS)[number];

const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
  return ok ? 'ok' : 'FAILED';
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const print = (line = '') => process.stdout.write(`${line}\n`);

async function withWorld<T>(run: (keep: (w: World) => void) => Promise<T>): Promise<T> {
  let world: World | undefined;
  try {
    return await run((w) => {
      world = w;
    });
  } finally {
    await world?.close().catch(() => undefined);
  }
}

function printLoad(r: LoadResult) {
  print(
    `load: ${r.jobs} jobs across ${r.repos} repositories + ${r.duplicates} duplicate deliveries (${seconds(r.elapsedMs)})`,
  );
  print(`  mints ${r.mints}, launches ${r.launches}, lost ${r.lost.length}, doubled ${r.doubled.length}`);
  print(
    `  duplicate answers ${JSON.stringify(r.duplicateAnswers)}, server errors ${r.serverErrors}, deliveries slower than 10 s ${r.timeouts}`,
  );
  print(
    `  ${check(r.lost.length === 0 && r.doubled.length === 0 && r.mints === r.jobs && r.launches === r.jobs, 'load')}`,
  );
}

function printFaults(r: FaultsResult) {
  print('faults (each alone, then mixed):');
  for (const run of r.runs) {
    const ok = run.lost.length === 0 && run.doubled.length === 0 && run.failed.every((f) => f.reason !== '');
    print(
      `  ${run.fault.padEnd(62)} jobs ${String(run.jobs).padStart(4)}  completed ${String(run.completed).padStart(4)}  failed ${String(run.failed.length).padStart(3)}  lost ${run.lost.length}  doubled ${run.doubled.length}  extra mints ${run.extraMints}  ${seconds(run.elapsedMs)}  ${check(ok, `faults: ${run.fault}`)}`,
    );
    for (const f of run.failed.slice(0, 3)) print(`      failed ${f.jobId}: ${f.reason}`);
  }
  print(`  injected: ${JSON.stringify(r.injected)}`);
  print(
    `  left behind: ${r.lingering.registrations.length} registrations, ${r.lingering.processes.length} processes  ${check(r.lingering.registrations.length + r.lingering.processes.length === 0, 'faults: lingering')}`,
  );
}

function printKills(r: KillResult) {
  const completed = r.jobs.filter((j) => j.status === 'completed').length;
  const failed = r.jobs.filter((j) => j.status === 'failed');
  print(
    `kills: ${r.kills} SIGKILLs of the npm-start server at ${JSON.stringify(r.killedAfterMs)} ms (${seconds(r.elapsedMs)})`,
  );
  print(
    `  jobs ${r.jobs.length + r.lost.length}, completed ${completed}, failed ${failed.length}, lost ${r.lost.length}, doubled ${r.doubled.length}, names minted again ${r.mintedTwice.length}, launches ${r.launches}`,
  );
  for (const j of failed.slice(0, 5)) print(`      failed ${j.jobId}: ${j.reason}`);
  print(`  left behind: ${r.lingering.registrations.length} registrations, ${r.lingering.processes.length} processes`);
  print(
    `  ${check(r.lost.length === 0 && r.doubled.length === 0 && failed.every((j) => j.reason) && r.lingering.registrations.length + r.lingering.processes.length === 0, 'kills')}`,
  );
}

function printMissed(r: MissedResult) {
  const completed = r.jobs.filter((j) => j.status === 'completed').length;
  print(
    `missed webhooks: ${r.jobs.length} jobs, ${r.failedDeliveries} queued deliveries answered 500 (${seconds(r.elapsedMs)})`,
  );
  print(
    `  redeliveries per GUID ${JSON.stringify([...new Set(r.redeliveriesPerGuid)])}, completed ${completed}, left behind ${r.lingering.registrations.length + r.lingering.processes.length}`,
  );
  print(
    `  ${check(completed === r.jobs.length && r.redeliveriesPerGuid.every((n) => n >= 1 && n <= 3) && r.lingering.registrations.length + r.lingering.processes.length === 0, 'missed webhooks')}`,
  );
}

function printStolen(r: StolenResult) {
  print(
    `stolen runner: first ${r.first.status}, second ${r.second.status} (ran on ${r.ranOn.second}), mints ${r.mints.length}, left behind ${r.lingering.registrations.length + r.lingering.processes.length}`,
  );
  print(
    `  ${check(r.first.status === 'completed' && r.second.status === 'completed' && r.lingering.registrations.length + r.lingering.processes.length === 0, 'stolen runner')}`,
  );
}

function printFuzz(r: FuzzResult) {
  print(`fuzz: ${r.deliveries} hostile deliveries over HTTP (${seconds(r.elapsedMs)})`);
  print(`  answers ${JSON.stringify(r.statuses)}, outside 4xx ${r.unexpected}, stray jobs ${r.strayJobs}`);
  print(
    `  valid deliveries: ${r.validAccepted} accepted; latency alone p50 ${r.latency.alone.p50} ms / p95 ${r.latency.alone.p95} ms, under fuzz p50 ${r.latency.underFuzz.p50} ms / p95 ${r.latency.underFuzz.p95} ms`,
  );
  print(`  ${check(r.unexpected === 0 && r.strayJobs === 0, 'fuzz')}`);
}

function printCapacity(r: CapacityResult) {
  const { size } = r;
  const jobs = r.jobs.length + r.lost.length;
  print(
    `capacity: ${jobs} jobs across ${size.repos + 1} repositories (busy ${size.busyJobs}, lone 1), pools ${r.pools.map((p) => p.name).join(' and ')} of ${size.maxRunners} runners, ${r.duplicates.posted} duplicate deliveries, ${r.kills.length} SIGKILLs (${seconds(r.elapsedMs)})`,
  );
  print(
    `  kills at ${r.kills.map((k) => `${seconds(k.afterMs)} (${k.queuedAtGitHub} jobs queued at GitHub)`).join(', ')}; duplicate answers ${JSON.stringify(r.duplicates.answers)}, refused ${r.duplicates.refused}`,
  );
  for (const p of r.pools) {
    print(
      `  pool ${p.name.padEnd(6)} jobs ${String(p.jobs).padStart(4)}  runners started ${String(p.lives).padStart(4)}  most alive at once ${p.mostAlive} (max ${p.maxRunners})  lives without an end ${p.unended}  slot-seconds unused while its jobs were queued ${p.unusedSlotSeconds} of ${p.slotSeconds}  ${check(p.mostAlive <= p.maxRunners, `capacity: pool ${p.name} over its cap`)}`,
    );
  }
  print(
    `  completed ${jobs - r.lost.length - r.notCompleted.length}, not completed ${r.notCompleted.length}, lost ${r.lost.length}, not run once on its pool ${r.notRunOnce.length}, runners that ran two jobs ${r.sharedRunners.length}, doubled ${r.doubled.length}; mints ${r.mints}, launches ${r.launches}`,
  );
  print(
    `  waited for capacity: ${r.waited} jobs; recorded -> launched p50 ${seconds(r.waitMs.p50)}, max ${seconds(r.waitMs.max)}`,
  );
  const f = r.fairness;
  print(
    f
      ? `  lone repository's job (pool ${f.pool}, ${f.busyBacklog} busy jobs queued there): ${f.startsAhead} runner starts before its own (at most ${f.bound}, one turn per repository); first-in first-out would have put ${f.fifoAhead} jobs ahead of it`
      : "  lone repository's job: ran on no recorded runner of its pool",
  );
  const slots = Object.values(r.lingering.slots).flat().length;
  const turns = Object.values(r.lingering.turns).flat().length;
  print(
    `  left behind: ${r.lingering.registrations.length} registrations, ${r.lingering.processes.length} processes, ${slots} pool slots, ${turns} waiting repositories`,
  );
  for (const line of r.failures) failures.push(`capacity: ${line}`);
  for (const line of r.failures) print(`  FAILED ${line}`);
  for (const line of r.details) print(`    ${line}`);
  print(`  ${r.failures.length === 0 ? 'ok' : 'FAILED'}`);
}

const USAGE = `npm run soak [-- part ...]

  Runs the reliability scenarios at full size and prints their counts; exit 1 when a run loses,
  doubles or leaves something behind, or (capacity) a pool has more runners alive than its cap or a
  lone repository waits more than one turn per repository. Without parts, all of them run (several
  minutes).

  parts: ${PARTS.join(', ')}
  --quiet, -q  no progress on stderr (a line per part with elapsed time; a bar on a terminal);
               the counts still print on stdout
  --help, -h   print this and exit`;

/** A command line the soak cannot run: one line on stderr, exit 2. */
class UsageError extends Error {}

/** Parsed before any scenario is imported, so `--help` and a typo never start a server. */
function parseSoakArgs(argv: readonly string[]): { help: true } | { help: false; parts: Part[]; quiet: boolean } {
  let positionals: string[];
  let help: boolean | undefined;
  let quiet: boolean | undefined;
  try {
    ({
      positionals,
      values: { help, quiet },
    } = parseArgs({
      args: [...argv],
      options: { help: { type: 'boolean', short: 'h' }, quiet: { type: 'boolean', short: 'q' } },
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.split(/\.\s/)[0] ?? 'bad arguments');
  }
  if (help) return { help: true };
  for (const p of positionals) {
    if (!(PARTS as readonly string[]).includes(p))
      throw new UsageError(`unknown part '${p}' (parts: ${PARTS.join(', ')})`);
  }
  return {
    help: false,
    parts: positionals.length > 0 ? [...new Set(positionals as Part[])] : [...PARTS],
    quiet: quiet === true,
  };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseSoakArgs>;
  try {
    parsed = parseSoakArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`soak: ${error.message}\n`);
    return 2;
  }
  if (parsed.help) {
    print(USAGE);
    return 0;
  }
  const { parts } = parsed;
  // Progress on stderr, so the counts on stdout stay a clean report.
  const progress = createProgress({ quiet: parsed.quiet });
  const { runFaults, FAULTS_FULL } = await import('../reliability/scenarios/faults-scenario.ts');
  const { runFuzz, FUZZ_FULL } = await import('../reliability/scenarios/fuzz-scenario.ts');
  const { runKills, KILL_FULL } = await import('../reliability/scenarios/kill-scenario.ts');
  const { runLoad, LOAD_FULL } = await import('../reliability/scenarios/load-scenario.ts');
  const { runMissedWebhooks, MISSED_FULL } = await import('../reliability/scenarios/missed-webhook-scenario.ts');
  const { runStolen } = await import('../reliability/scenarios/stolen-scenario.ts');
  const { runCapacity, CAPACITY_FULL } = await import('../reliability/scenarios/capacity-scenario.ts');
  const started = Date.now();
  print(`jit-runners soak: ${parts.join(', ')}`);
  for (const [index, part] of parts.entries()) {
    print();
    progress.phase(`soak: ${part} (${index + 1} of ${parts.length}) running`);
    const failedBefore = failures.length;
    try {
      switch (part) {
        case 'load':
          printLoad(await withWorld((keep) => runLoad(LOAD_FULL, keep)));
          break;
        case 'faults':
          printFaults(await withWorld((keep) => runFaults(FAULTS_FULL, keep)));
          break;
        case 'kills': {
          let cleanup: (() => Promise<void>) | undefined;
          try {
            printKills(
              await runKills(KILL_FULL, (c) => {
                cleanup = c;
              }),
            );
          } finally {
            await cleanup?.();
          }
          break;
        }
        case 'missed':
          printMissed(await withWorld((keep) => runMissedWebhooks(MISSED_FULL, keep)));
          break;
        case 'stolen':
          printStolen(await withWorld((keep) => runStolen(keep)));
          break;
        case 'fuzz':
          printFuzz(await withWorld((keep) => runFuzz(FUZZ_FULL, keep)));
          break;
        case 'capacity': {
          let cleanup: (() => Promise<void>) | undefined;
          try {
            printCapacity(
              await runCapacity(CAPACITY_FULL, (c) => {
                cleanup = c;
              }),
            );
          } finally {
            await cleanup?.();
          }
          break;
        }
      }
    } catch (error) {
      failures.push(part);
      print(`${part}: FAILED: ${error instanceof Error ? error.message : String(error)}`);
    }
    progress.phase(`soak: ${part} ${failures.length === failedBefore ? 'ok' : 'FAILED'}`);
  }
  progress.end();
  print();
  print(
    `soak finished in ${seconds(Date.now() - started)}: ${failures.length === 0 ? 'all ok' : `FAILED: ${failures.join('; ')}`}`,
  );
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
