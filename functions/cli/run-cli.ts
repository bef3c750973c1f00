import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../config/config.ts';
import { withSandboxPools } from '../config/sandbox-pools.ts';
import { jobQuery } from '../use-cases/admin/fleet-api.ts';
import { type CommandGrammar, parseCommand, UsageError } from './cli-args.ts';
import type { CommandIo, FleetCommand } from './fleet-commands.ts';
import { checkTarget, openFleetClient, TARGET_OPTIONS, TARGET_USAGE } from './fleet-target.ts';

// The `jit-runners` command line: every command's grammar and usage, the checks of its arguments, and the
// composition that runs it. main.ts is the process entry around it (exit codes, one-line errors).

const USAGE = `usage: jit-runners <command> [--help]
       jit-runners --version

  start                          run the provisioner locally (sandbox without GITHUB_APP_ID)
  demo                           drive the running sandbox: one job from queued to completed
  status                         the fleet at a glance: pools, jobs, runners, breakers, version
  jobs list [--status S,S] [--repo R] [--pool P] [--since 2h|ISO] [--limit N]
                                 open and recent jobs, newest first
  job show <id>                  show a job and its history
  runners list                   show the runners alive
  baseline list                  show baseline records
  baseline ensure <owner/repo|org>  register a baseline runner for a scope ahead of time
  dlq list | redrive [<jobId>...|--all]  the provisioner's dead-letter queue (deployed stacks)
  version status                 show the runner version: current, canary, candidate, cut-off
  doctor [--webhook-url URL]     check the setup: App key, permissions, webhook, secrets, clock,
                                 runner version, allow-list, pools, runner folders

The commands from status on talk to the local server (npm start) by default, or to a deployed
stack with --stack NAME [--region R]; each takes --json. Configuration comes from environment
variables; see README.md.`;

const Command = {
  start: 'start',
  demo: 'demo',
  status: 'status',
  jobs: 'jobs',
  job: 'job',
  runners: 'runners',
  baseline: 'baseline',
  dlq: 'dlq',
  version: 'version',
  doctor: 'doctor',
} as const;
type Command = (typeof Command)[keyof typeof Command];

const COMMANDS: Record<Command, { grammar: CommandGrammar; usage: string }> = {
  start: {
    grammar: { name: 'start', maxPositionals: 0 },
    usage: `usage: jit-runners start

  Runs the provisioner on this machine until SIGINT/SIGTERM: webhook server (POST /webhook,
  GET /healthz, GET /api/…, the status page at /), provisioner, runner watcher and reconciler
  in one process.
  Without GITHUB_APP_ID it starts the sandbox: a built-in GitHub simulator and a sample runner.
  Configuration comes from environment variables; see README.md.`,
  },
  demo: {
    grammar: {
      name: 'demo',
      maxPositionals: 0,
      options: {
        timeout: { type: 'string' },
        pool: { type: 'string' },
        labels: { type: 'string' },
        'version-rollout': { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
      },
    },
    usage: `usage: jit-runners demo [--pool NAME | --labels A,B,...] [--timeout SECONDS] [--version-rollout]
                        [--quiet]

  Asks the running sandbox (npm start) for one queued job, delivers it as a signed webhook and
  prints the pool that serves it and each state it reaches until it completes. Without
  RUNNER_POOLS the sandbox has two sample pools: linux-x64 and linux-arm64.

  --pool NAME         ask for the labels of this pool (default: the first pool)
  --labels A,B,...    ask for exactly these labels (a set no pool covers is not served)
  --timeout SECONDS   give up after this long (default 120)
  --quiet, -q         no progress on stderr (a line per step with elapsed time, or one updating
                      line on a terminal); the job's states still print on stdout
  --version-rollout   publish a runner release GitHub refuses and show the server adopt it after its
                      soak, canary it and roll it back by itself (start the server with
                      RUNNER_VERSION=auto, a short RUNNER_VERSION_SOAK_DAYS, e.g. 0.00005, and
                      RECONCILE_INTERVAL_SECONDS=1)`,
  },
  status: {
    grammar: { name: 'status', maxPositionals: 0, options: TARGET_OPTIONS },
    usage: `usage: jit-runners status [--json] [--stack NAME [--region R]]

  The fleet at a glance: each pool with its runners in use (of maxRunners), backlog and open jobs;
  open jobs by status and the jobs that ended in the last 24 hours; runners alive; open breakers;
  baselines; the runner version.

${TARGET_USAGE}`,
  },
  jobs: {
    grammar: {
      name: 'jobs',
      maxPositionals: 1,
      options: {
        ...TARGET_OPTIONS,
        status: { type: 'string' },
        repo: { type: 'string' },
        pool: { type: 'string' },
        since: { type: 'string' },
        'version-role': { type: 'string' },
        limit: { type: 'string' },
      },
    },
    usage: `usage: jit-runners jobs list [--status S[,S]] [--repo owner/name|owner] [--pool P]
                          [--since 2h|ISO] [--version-role R] [--limit N] [--json]
                          [--stack NAME [--region R]]

  list   open jobs and the jobs that changed in the window, newest first, with the failure
         or the last step of each

  --status S,S      only these statuses (queued, provisioning, launched, running, completed,
                    failed, waiting, waiting-capacity, waiting-breaker, healing)
  --repo R          one repository (owner/name) or every repository of an owner
  --pool P          one pool
  --since T         changed since a duration ago (30m, 6h, 2d) or an ISO 8601 time (default
                    24 h; open jobs are listed however old without --since)
  --version-role R  only jobs whose runner got its version as R (canary, current, previous,
                    fallback, pinned): --version-role canary lists the jobs a canary ran on
  --limit N         at most N jobs (1-1000, default 200)
${TARGET_USAGE}`,
  },
  runners: {
    grammar: { name: 'runners', maxPositionals: 1, options: TARGET_OPTIONS },
    usage: `usage: jit-runners runners list [--json] [--stack NAME [--region R]]

  list   the runners alive, oldest first: the JIT runner of each launched or running job, and the
         runner records (baseline, stolen and warm runners): kind, pool, state, version, job,
         since (--json adds the scope)

${TARGET_USAGE}`,
  },
  baseline: {
    grammar: { name: 'baseline', maxPositionals: 2, options: TARGET_OPTIONS },
    usage: `usage: jit-runners baseline list [--json] [--stack NAME [--region R]]
       jit-runners baseline ensure <owner/repo|org> [--json] [--stack NAME [--region R]]

  list     show the BASELINE# record of every scope (state, method, runner, when verified)
  ensure   register a regular runner for the scope now, see it online, remove it and record the
           baseline (method manual); the usual advice for critical repositories. With --stack
           the deployed reconciler runs it, with its own configuration and permissions

${TARGET_USAGE}`,
  },
  job: {
    grammar: { name: 'job', maxPositionals: 2, options: TARGET_OPTIONS },
    usage: `usage: jit-runners job show <workflow_job id> [--json] [--stack NAME [--region R]]

  show   a job's state, pool, runner, waits, failure and history

${TARGET_USAGE}`,
  },
  dlq: {
    grammar: { name: 'dlq', maxPositionals: 101, options: { ...TARGET_OPTIONS, all: { type: 'boolean' } } },
    usage: `usage: jit-runners dlq list [--json] --stack NAME [--region R]
       jit-runners dlq redrive <jobId>... | --all [--json] --stack NAME [--region R]

  list      the provisioner invokes Lambda gave up on (its dead-letter queue): job, when, the
            condition, attempts and the error; peeks only (messages stay in the queue)
  redrive   invoke the provisioner again with each message's original payload, then delete the
            message; jobs are idempotent, so a redrive never launches twice. Exit 1 when a
            message was left in the queue or a job id was not in it

  Local mode has no dead-letter queue (a failed provisioning stays open and the reconciler
  retries it): both say so and exit 0.

${TARGET_USAGE}`,
  },
  version: {
    grammar: { name: 'version', maxPositionals: 1, options: TARGET_OPTIONS },
    usage: `usage: jit-runners version status [--json] [--stack NAME [--region R]]

  status   the runner version the fleet runs, read from the running server (npm start): mode
           (pinned or auto) and soak, current and previous version, the canary and its share,
           the next candidate and its adoption date, days to GitHub's 30-day cut-off, and the
           releases marked bad with their reasons

  --json   the same as one JSON document (stable field names; times in ISO 8601)
  --stack NAME [--region R]  a deployed stack: its reconciler answers (it reads the releases)`,
  },
  doctor: {
    grammar: {
      name: 'doctor',
      maxPositionals: 0,
      options: { 'webhook-url': { type: 'string' }, ...TARGET_OPTIONS },
    },
    usage: `usage: jit-runners doctor [--json] [--webhook-url URL] [--stack NAME [--region R]]

  Checks the setup and prints each check as ok, warn or fail with the fix: the App id and key,
  the installations' permissions, the App's webhook (URL, JSON, workflow_job), secrets left as
  placeholders, this machine's clock against GitHub's, the runner version against GitHub's
  30-day cut-off, allow-list entries no installation covers, pools that can never be chosen or
  overlap, and the local runner folders. Asks the running server (npm start); with a real App
  and no server it runs the checks itself. Exit 1 when a check fails (warnings do not).

  --json             the report as one JSON document
  --webhook-url URL  the URL GitHub must deliver to (e.g. your tunnel's /webhook); without it a
                     real App's webhook URL is checked but not compared (the sandbox compares
                     with the server's own)
  --stack NAME [--region R]  run the checks in a deployed stack's reconciler, with its own
                     configuration and App key, against its WebhookUrl output`,
  },
};

const isCommand = (name: string): name is Command => Object.hasOwn(Command, name);

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Checks a command's arguments completely before anything reads the configuration or the network; for an
 * operator command, the command to run.
 */
function checkArguments(
  command: Command,
  values: Record<string, string | boolean | undefined>,
  args: string[],
): FleetCommand | undefined {
  const [sub, operand] = args;
  if (command !== 'start' && command !== 'demo') checkTarget(command, values);
  const onlySub = (name: string, subs: readonly string[]) => {
    if (sub === undefined || !subs.includes(sub))
      throw new UsageError(
        sub === undefined
          ? `${name}: missing subcommand (${subs.join(' or ')})`
          : `${name}: unknown subcommand '${sub}'`,
      );
  };
  switch (command) {
    case 'start':
      return;
    case 'doctor': {
      const url = values['webhook-url'];
      if (typeof url === 'string' && !URL.canParse(url))
        throw new UsageError(`doctor: --webhook-url must be a URL, got '${url}'`);
      return;
    }
    case 'demo': {
      const timeout = values.timeout;
      if (typeof timeout === 'string' && !(Number(timeout) > 0))
        throw new UsageError(`demo: --timeout must be a number of seconds > 0, got '${timeout}'`);
      if (values.pool !== undefined && values.labels !== undefined)
        throw new UsageError('demo: give --pool or --labels, not both');
      if (typeof values.labels === 'string' && values.labels.split(',').every((l) => l.trim() === ''))
        throw new UsageError('demo: --labels needs at least one label');
      return;
    }
    case 'status':
      return { command: 'status' };
    case 'jobs': {
      onlySub('jobs', ['list']);
      const query = new URLSearchParams();
      for (const name of ['status', 'repo', 'pool', 'since', 'version-role', 'limit'] as const) {
        const value = values[name];
        if (typeof value === 'string') query.set(name, value);
      }
      const parsed = jobQuery(query, Date.now());
      if ('error' in parsed) throw new UsageError(`jobs list: --${parsed.error}`);
      return { command: 'jobs list', filter: parsed.filter, limit: parsed.limit };
    }
    case 'runners':
      onlySub('runners', ['list']);
      return { command: 'runners list' };
    case 'baseline':
      if (sub === undefined) throw new UsageError('baseline: missing subcommand (list or ensure)');
      if (sub === 'list') {
        if (operand !== undefined) throw new UsageError(`baseline list: unexpected argument '${operand}'`);
        return { command: 'baseline list' };
      }
      if (sub === 'ensure') {
        if (operand === undefined) throw new UsageError('baseline ensure: missing <owner/repo|org>');
        return { command: 'baseline ensure', scope: operand };
      }
      throw new UsageError(`baseline: unknown subcommand '${sub}'`);
    case 'job':
      if (sub !== 'show') {
        throw new UsageError(sub === undefined ? 'job: missing subcommand (show)' : `job: unknown subcommand '${sub}'`);
      }
      if (operand === undefined || !/^\d+$/.test(operand))
        throw new UsageError(`job show: expected a numeric workflow_job id, got ${operand ? `'${operand}'` : 'none'}`);
      return { command: 'job show', jobId: Number(operand) };
    case 'dlq': {
      onlySub('dlq', ['list', 'redrive']);
      const ids = args.slice(1);
      if (sub === 'list') {
        if (ids[0] !== undefined) throw new UsageError(`dlq list: unexpected argument '${ids[0]}'`);
        if (values.all !== undefined) throw new UsageError('dlq list: --all is an option of dlq redrive');
        return { command: 'dlq list' };
      }
      const bad = ids.find((id) => !/^\d+$/.test(id));
      if (bad !== undefined) throw new UsageError(`dlq redrive: expected numeric job ids, got '${bad}'`);
      if (values.all === true && ids.length > 0) throw new UsageError('dlq redrive: give job ids or --all, not both');
      if (values.all !== true && ids.length === 0)
        throw new UsageError('dlq redrive: give the job ids to redrive, or --all (jit-runners dlq list shows them)');
      return {
        command: 'dlq redrive',
        selection: values.all === true ? { all: true } : { jobIds: [...new Set(ids.map(Number))] },
      };
    }
    case 'version':
      if (sub !== 'status') {
        throw new UsageError(
          sub === undefined ? 'version: missing subcommand (status)' : `version: unknown subcommand '${sub}'`,
        );
      }
      return { command: 'version status' };
    default: {
      const unreachable: never = command;
      throw new UsageError(`unknown command ${String(unreachable)}`);
    }
  }
}

/** Where the CLI prints, and the environment its local configuration comes from; specs pass their own. */
export interface CliIo extends CommandIo {
  env: NodeJS.ProcessEnv;
}

const processCliIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};

/**
 * Runs one `jit-runners` command line and resolves to its exit code. Throws {@link UsageError} for a command
 * line it cannot run and ConfigError for a bad local configuration (main.ts prints either as one line, exit 2).
 */
export async function runCli(argv: readonly string[], io: CliIo = processCliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.out(`${USAGE}\n`);
    return 1;
  }
  if (first === '--help' || first === '-h') {
    io.out(`${USAGE}\n`);
    return 0;
  }
  if (first === '--version' || first === '-v') {
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' after ${first}`);
    io.out(`${packageVersion()}\n`);
    return 0;
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) io.out(`${USAGE}\n`);
    else if (isCommand(topic)) io.out(`${COMMANDS[topic].usage}\n`);
    else throw new UsageError(`help: unknown command '${topic}'`);
    return 0;
  }
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}' (see jit-runners --help)`);
  if (!isCommand(first)) throw new UsageError(`unknown command '${first}' (see jit-runners --help)`);

  const { grammar, usage } = COMMANDS[first];
  let parsed: ReturnType<typeof parseCommand>;
  let fleetCommand: FleetCommand | undefined;
  try {
    parsed = parseCommand(grammar, rest);
    if (!parsed.help) fleetCommand = checkArguments(first, parsed.values, parsed.positionals);
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${error.message} (see jit-runners ${first} --help)`);
    throw error;
  }
  if (parsed.help) {
    io.out(`${usage}\n`);
    return 0;
  }
  const json = parsed.values.json === true;
  const url = parsed.values['webhook-url'];
  const webhookUrl = typeof url === 'string' ? { webhookUrl: url } : {};

  // Only now: help and bad arguments never depend on the environment being a valid configuration.
  // Operator commands read the local configuration only for the local server's port, and not at all with
  // --stack (openFleetClient, fleet-target.ts).
  if (fleetCommand) {
    const { runFleetCommand } = await import('./fleet-commands.ts');
    return runFleetCommand(fleetCommand, await openFleetClient(parsed.values, io.env), { json }, io);
  }
  // doctor --stack: the deployed reconciler runs the checks in its own configuration
  // (composition/lambda-doctor.ts), so this machine's is never parsed: a local setting, valid or not, can
  // neither change nor break it.
  if (first === 'doctor' && typeof parsed.values.stack === 'string') {
    const { runStackDoctor } = await import('./stack-doctor.ts');
    return runStackDoctor(parsed.values, { json, ...webhookUrl }, io);
  }
  // The sandbox commands see the sample pools when no pool or label variable is set (withSandboxPools).
  const config = withSandboxPools(
    parseConfig({ env: io.env, readFile: (p) => readFileSync(p, 'utf8'), parseYaml }, 'local'),
    io.env,
  );
  switch (first) {
    case 'start': {
      const { runStart } = await import('./start.ts');
      return runStart(config);
    }
    case 'demo': {
      const { runDemo } = await import('./demo.ts');
      const { timeout, pool, labels } = parsed.values;
      return runDemo(config, {
        ...(typeof timeout === 'string' && { timeoutSeconds: Number(timeout) }),
        ...(typeof pool === 'string' && { pool }),
        ...(typeof labels === 'string' && { labels }),
        versionRollout: parsed.values['version-rollout'] === true,
        quiet: parsed.values.quiet === true,
      });
    }
    case 'doctor': {
      const { runDoctorCommand } = await import('./doctor.ts');
      return runDoctorCommand(config, { json, ...webhookUrl });
    }
    default:
      // The operator commands returned above (checkArguments gives each its FleetCommand).
      throw new UsageError(`unknown command ${first}`);
  }
}
