import type { JobFilter } from '../domain/job-filter.ts';
import { type FleetClient, FleetClientError, type RedriveSelection, RequestRefusedError } from './fleet-client.ts';
import {
  formatBaselines,
  formatDeadLetters,
  formatEnsure,
  formatJob,
  formatJobs,
  formatRedrive,
  formatRunners,
  formatStatus,
} from './fleet-format.ts';
import { formatVersionStatus } from './version.ts';

/** The operator commands, each written once over a {@link FleetClient} (the local server or a deployed stack). */
export type FleetCommand =
  | { command: 'status' }
  | { command: 'jobs list'; filter: JobFilter; limit: number }
  | { command: 'job show'; jobId: number }
  | { command: 'runners list' }
  | { command: 'baseline list' }
  | { command: 'baseline ensure'; scope: string }
  | { command: 'dlq list' }
  | { command: 'dlq redrive'; selection: RedriveSelection }
  | { command: 'version status' };

export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: CommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * Runs one command and prints its text (or `--json`: the view itself). Exit codes: 0 done, 1 a failure (the
 * target is unreachable, denied, or could not do it), 2 the target refused the request as given (a bad scope).
 */
export async function runFleetCommand(
  command: FleetCommand,
  client: FleetClient,
  options: { json: boolean },
  io: CommandIo = processIo,
): Promise<number> {
  const print = (value: unknown, text: () => string) => io.out(options.json ? json(value) : text());
  try {
    switch (command.command) {
      case 'status': {
        const status = await client.status();
        print(status, () => formatStatus(status, client.target));
        return 0;
      }
      case 'jobs list': {
        const jobs = await client.jobs(command.filter, command.limit);
        print(jobs, () => formatJobs(jobs));
        return 0;
      }
      case 'job show': {
        const job = await client.job(command.jobId);
        if (!job) {
          io.err(
            `jit-runners: job ${command.jobId} is not recorded in ${client.target} (jit-runners jobs list shows the recent ones)\n`,
          );
          return 1;
        }
        print(job, () => formatJob(job));
        return 0;
      }
      case 'runners list': {
        const runners = await client.runners();
        print(runners, () => formatRunners(runners));
        return 0;
      }
      case 'baseline list': {
        const baselines = await client.baselines();
        print(baselines, () => formatBaselines(baselines));
        return 0;
      }
      case 'baseline ensure': {
        if (!options.json)
          io.out(`ensuring a baseline for ${command.scope} (up to ${await client.baselineOnlineSeconds()} s)...\n`);
        const answer = await client.ensureBaseline(command.scope);
        print(answer, () => formatEnsure(answer));
        return 0;
      }
      case 'dlq list': {
        const listing = await client.deadLetters();
        print(listing, () => formatDeadLetters(listing));
        return 0;
      }
      case 'dlq redrive': {
        const result = await client.redrive(command.selection);
        print(result, () => formatRedrive(result));
        return result.skipped.length > 0 || result.notFound.length > 0 ? 1 : 0;
      }
      case 'version status': {
        const status = await client.versionStatus();
        print(status, () => formatVersionStatus(status));
        return 0;
      }
      default: {
        const unreachable: never = command;
        throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
      }
    }
  } catch (error) {
    if (!(error instanceof FleetClientError)) throw error;
    io.err(`jit-runners: ${error.message}\n`);
    return error instanceof RequestRefusedError ? 2 : 1;
  }
}
