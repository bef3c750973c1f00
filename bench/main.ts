import { writeFile } from 'node:fs/promises';
import { createProgress } from '../functions/cli/progress.ts';
import { parseBenchOptions, UsageError } from './bench-options.ts';
import { toJson, toTable } from './report.ts';
import { runBench } from './run-bench.ts';

/**
 * `npm run bench [-- --json]`: every figure of the performance issue from one run on this machine.
 * Exit 0 when every job was launched exactly once (targets missed do not fail the run: they are reported),
 * 1 when a job was lost or launched twice (or a phase could not run), 2 on bad options.
 */
async function main(): Promise<number> {
  let options: ReturnType<typeof parseBenchOptions>;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      if (error.help) process.stdout.write(`${error.message}\n`);
      else process.stderr.write(`bench: ${error.message} (see npm run bench -- --help)\n`);
      return error.help ? 0 : 2;
    }
    throw error;
  }
  // Progress goes to stderr (stdout stays the table or the one JSON object); --quiet silences it.
  const progress = createProgress({ quiet: options.quiet });
  const report = await runBench(options, (line) => progress.phase(line.replace(/^bench: /, '')));
  progress.end('bench: done');
  const json = JSON.stringify(toJson(report));
  if (options.save) await writeFile(options.save, `${json}\n`);
  process.stdout.write(options.json ? `${json}\n` : `${toTable(report)}\n`);
  return report.failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
