#!/usr/bin/env node
// Sample runner for the jit-runners sandbox: laid out and talking like an extracted actions/runner,
// but it "runs" jobs by sleeping. It speaks the GitHub simulator's broker protocol
// (functions/adapters/sandbox/broker-api.ts). Plain Node (no dependencies, no TypeScript): it is copied
// per runner. Secrets (JIT config, registration tokens, the broker credential) are never printed.
//
//   config.sh --unattended --url URL --token T --name N --labels L [--no-default-labels] [--replace] [--ephemeral]
//   config.sh remove --token T
//   run.sh [--jitconfig B64]          (or ACTIONS_RUNNER_INPUT_JITCONFIG in the environment)

import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILT_IN_VERSION = '2.330.0';
const BROKER_DISPLAY_URL = 'https://broker.actions.githubusercontent.com/message';
const FILES = ['.runner', '.credentials', '.credentials_rsaparams'];

// ───────────── output: stdout/stderr and _diag/Runner_<yyyymmdd-hhmmss>-utc.log ─────────────

const pad = (n) => String(n).padStart(2, '0');
function stamp(d = new Date()) {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;
}

let diagFile;
function diag(level, component, message) {
  try {
    if (!diagFile) {
      const d = new Date();
      const name = `Runner_${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}-utc.log`;
      mkdirSync(join(ROOT, '_diag'), { recursive: true });
      diagFile = join(ROOT, '_diag', name);
    }
    appendFileSync(diagFile, `[${stamp()} ${level.padEnd(4)} ${component}] ${message}\n`);
  } catch {
    // Diagnostics are best effort: a full disk must not stop the runner.
  }
}

const say = (message) => {
  process.stdout.write(`${message}\n`);
  diag('INFO', 'Runner', message);
};
/** Timestamped like the real listener's status lines (`2026-11-23 05:40:01Z: Listening for Jobs`). */
const status = (message) => {
  process.stdout.write(`${stamp()}: ${message}\n`);
  diag('INFO', 'Runner', message);
};
const fail = (message) => {
  process.stderr.write(`${message}\n`);
  diag('ERR', 'Runner', message);
};

// ───────────── helpers ─────────────

function parseArgs(argv) {
  const flags = {};
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [key, inline] = arg.slice(2).split('=', 2);
    if (inline !== undefined) flags[key] = inline;
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags[key] = argv[++i];
    else flags[key] = true;
  }
  return { flags, positional };
}

const sleep = (ms, signal) =>
  new Promise((resolvePromise) => {
    const timer = setTimeout(resolvePromise, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolvePromise();
    });
  });

const b64json = (text) => JSON.parse(Buffer.from(text, 'base64').toString('utf8'));

/** Writes a file atomically: runtime identity is written once, whole, or not at all. */
function writeAtomic(file, value) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

async function request(method, url, { auth, body, signal, timeoutMs = 30_000 } = {}) {
  const signals = [AbortSignal.timeout(timeoutMs)];
  if (signal) signals.push(signal);
  const response = await fetch(url, {
    method,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHubActionsRunner-sample/2.330.0',
      ...(auth ? { authorization: auth } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.any(signals),
  });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, body: json };
}

const statusName = (code) =>
  ({
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    500: 'InternalServerError',
    502: 'BadGateway',
    503: 'ServiceUnavailable',
  })[code] ?? String(code);

// ───────────── config.sh ─────────────

async function registrationExchange(url, token, event) {
  const origin = new URL(url).origin;
  const answer = await request('POST', `${origin}/actions/runner-registration`, {
    auth: `RemoteAuth ${token}`,
    body: { url, runner_event: event },
  });
  if (answer.status !== 200 || !answer.body?.token) {
    throw new Error(
      `Http response code: ${statusName(answer.status)} from 'POST ${origin}/actions/runner-registration'`,
    );
  }
  return { brokerUrl: String(answer.body.url).replace(/\/+$/, ''), tenant: answer.body.token };
}

async function configure(flags) {
  if (existsSync(join(ROOT, '.runner'))) {
    fail(
      "Cannot configure the runner because it is already configured. To reconfigure the runner, run 'config.cmd remove' or './config.sh remove' first.",
    );
    return 1;
  }
  const url = typeof flags.url === 'string' ? flags.url.replace(/\/+$/, '') : undefined;
  const token = typeof flags.token === 'string' ? flags.token : undefined;
  if (!url || !token) {
    fail('Invalid configuration provided for url and token. Terminating unattended configuration.');
    return 1;
  }
  const name = typeof flags.name === 'string' && flags.name ? flags.name : hostname();
  const labels =
    typeof flags.labels === 'string'
      ? flags.labels
          .split(',')
          .map((l) => l.trim())
          .filter(Boolean)
      : [];
  const version = process.env.RUNNER_VERSION || BUILT_IN_VERSION;

  say('');
  say('--------------------------------------------------------------------------------');
  say('|        ____ _ _   _   _       _          _        _   _                      |');
  say('|       / ___(_) |_| | | |_   _| |__      / \\   ___| |_(_) ___  _ __  ___      |');
  say("|      | |  _| | __| |_| | | | | '_ \\    / _ \\ / __| __| |/ _ \\| '_ \\/ __|     |");
  say('|      | |_| | | |_|  _  | |_| | |_) |  / ___ \\ (__| |_| | (_) | | | \\__ \\     |');
  say('|       \\____|_|\\__|_| |_|\\__,_|_.__/  /_/   \\_\\___|\\__|_|\\___/|_| |_|___/     |');
  say('|                                                                              |');
  say('|                       Self-hosted runner registration                        |');
  say('|                                                                              |');
  say('--------------------------------------------------------------------------------');
  say('');
  say('# Authentication');
  say('');
  let exchange;
  try {
    exchange = await registrationExchange(url, token, 'register');
  } catch (error) {
    fail(error.message);
    return 1;
  }
  say('√ Connected to GitHub');
  say('');
  say('# Runner Registration');
  say('');
  const added = await request('POST', `${exchange.brokerUrl}/agents`, {
    auth: `Bearer ${exchange.tenant}`,
    body: {
      name,
      labels,
      noDefaultLabels: flags['no-default-labels'] === true,
      replace: flags.replace === true,
      ephemeral: flags.ephemeral === true,
      version,
    },
  });
  if (added.status === 409) {
    fail(`A runner exists with the same name ${name}.`);
    return 1;
  }
  if (added.status !== 201) {
    fail(`Http response code: ${statusName(added.status)} from 'POST ${exchange.brokerUrl}/agents'`);
    return 1;
  }
  if (flags.replace === true) say(`√ Successfully replaced the runner`);
  say('√ Runner successfully added');
  say('√ Runner connection is good');
  say('');
  say('# Runner settings');
  say('');
  const origin = new URL(url).origin;
  writeAtomic(join(ROOT, '.credentials'), added.body.credentials);
  writeAtomic(join(ROOT, '.credentials_rsaparams'), { exponent: 'AQAB', modulus: randomUUID() });
  // `.runner` last: its presence is what marks the runner as configured.
  writeAtomic(join(ROOT, '.runner'), {
    agentId: added.body.id,
    agentName: added.body.name,
    poolId: added.body.poolId ?? 1,
    poolName: added.body.poolName ?? 'Default',
    serverUrl: origin,
    serverUrlV2: `${exchange.brokerUrl}/`,
    gitHubUrl: url,
    workFolder: typeof flags.work === 'string' ? flags.work : '_work',
    ephemeral: flags.ephemeral === true,
    labels: added.body.labels,
    ...(process.env.RUNNER_VERSION ? { runnerVersion: process.env.RUNNER_VERSION } : {}),
  });
  say('√ Settings Saved.');
  say('');
  return 0;
}

async function remove(flags) {
  const runnerPath = join(ROOT, '.runner');
  if (!existsSync(runnerPath)) {
    say('The runner is not configured; nothing to remove.');
    return 0;
  }
  const token = typeof flags.token === 'string' ? flags.token : undefined;
  if (!token) {
    fail('A remove token is required: ./config.sh remove --token <token>');
    return 1;
  }
  const runner = JSON.parse(readFileSync(runnerPath, 'utf8'));
  say('');
  say('# Runner removal');
  say('');
  try {
    const exchange = await registrationExchange(runner.gitHubUrl, token, 'remove');
    const removed = await request('DELETE', `${exchange.brokerUrl}/agents/${runner.agentId}`, {
      auth: `Bearer ${exchange.tenant}`,
    });
    if (removed.status !== 204 && removed.status !== 404) {
      fail(`Http response code: ${statusName(removed.status)} from 'DELETE ${exchange.brokerUrl}/agents'`);
      return 1;
    }
  } catch (error) {
    fail(error.message);
    return 1;
  }
  say('√ Runner removed successfully');
  say('');
  say('# Runner settings');
  say('');
  for (const file of FILES) rmSync(join(ROOT, file), { force: true });
  say('√ Removed .credentials');
  say('√ Removed .runner');
  say('');
  return 0;
}

// ───────────── run.sh ─────────────

function loadIdentity(flags) {
  const encoded = typeof flags.jitconfig === 'string' ? flags.jitconfig : process.env.ACTIONS_RUNNER_INPUT_JITCONFIG;
  if (encoded) {
    // The JIT identity stays in memory: nothing to persist, the registration dies with the job.
    const files = b64json(encoded);
    return {
      runner: b64json(files['.runner']),
      credentials: b64json(files['.credentials']),
      jit: true,
    };
  }
  const runnerPath = join(ROOT, '.runner');
  const credentialsPath = join(ROOT, '.credentials');
  if (!existsSync(runnerPath) || !existsSync(credentialsPath)) return undefined;
  return {
    runner: JSON.parse(readFileSync(runnerPath, 'utf8')),
    credentials: JSON.parse(readFileSync(credentialsPath, 'utf8')),
    jit: false,
  };
}

async function run(flags) {
  let identity;
  try {
    identity = loadIdentity(flags);
  } catch {
    fail('The JIT configuration could not be decoded.');
    return 1;
  }
  if (!identity) {
    fail('Not configured. Run config.(sh/cmd) to configure the runner.');
    return 1;
  }
  const { runner, credentials } = identity;
  const version = process.env.RUNNER_VERSION || runner.runnerVersion || BUILT_IN_VERSION;
  const broker = String(runner.serverUrlV2 || `${runner.serverUrl}/_broker`).replace(/\/+$/, '');
  const auth = `Bearer ${credentials.data.accessToken}`;
  const ephemeral = runner.ephemeral === true || identity.jit;
  mkdirSync(join(ROOT, runner.workFolder || '_work'), { recursive: true });
  diag('INFO', 'Runner', `Runner ${runner.agentName} (id ${runner.agentId}) starting, version ${version}`);

  const stop = new AbortController();
  let sessionId;
  let currentJob;
  let exitCode;
  const onSignal = (signal) => {
    if (stop.signal.aborted) return;
    diag('INFO', 'Runner', `Received ${signal}`);
    stop.abort();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  // Session: the runner shows online from here on.
  for (;;) {
    if (stop.signal.aborted) return shutdown();
    let answer;
    try {
      answer = await request('POST', `${broker}/sessions`, {
        auth,
        body: { version, os: 'Linux', name: runner.agentName },
        signal: stop.signal,
      });
    } catch (error) {
      if (stop.signal.aborted) return shutdown();
      fail(`Runner connect error: ${error.cause?.message ?? error.message}. Retrying until reconnected.`);
      await sleep(1_000, stop.signal);
      continue;
    }
    if (answer.status === 201) {
      sessionId = answer.body.sessionId;
      break;
    }
    if (answer.status === 400 && answer.body?.code === 'VersionDeprecated') {
      say(`Current runner version: '${version}'`);
      fail(answer.body.message);
      return 1;
    }
    if (answer.status === 404) {
      fail(
        'Failed to create a session. The runner registration has been deleted from the server, please re-configure. Runner registrations are automatically deleted for runners that have not connected to the service recently.',
      );
      return 1;
    }
    if (answer.status === 409) {
      fail('A session for this runner already exists.');
      await sleep(1_000, stop.signal);
      continue;
    }
    fail(
      `Runner connect error: Failed to create a session. The server answered ${statusName(answer.status)}. Retrying until reconnected.`,
    );
    await sleep(1_000, stop.signal);
  }

  say('√ Connected to GitHub');
  say('');
  say(`Current runner version: '${version}'`);
  say('Runner update is disabled');
  status('Listening for Jobs');

  async function shutdown() {
    if (currentJob) {
      await request('POST', `${broker}/jobs/${currentJob.jobId}/complete`, {
        auth,
        body: { result: 'Canceled' },
        timeoutMs: 1_000,
      }).catch(() => undefined);
    }
    if (sessionId) {
      await request('DELETE', `${broker}/sessions/${sessionId}`, { auth, timeoutMs: 1_000 }).catch(() => undefined);
    }
    say('Exiting...');
    return exitCode ?? 0;
  }

  for (;;) {
    if (stop.signal.aborted) return shutdown();
    let answer;
    try {
      answer = await request('POST', `${broker}/message`, {
        auth,
        body: { sessionId },
        signal: stop.signal,
        timeoutMs: 60_000,
      });
    } catch (error) {
      if (stop.signal.aborted) return shutdown();
      fail(`Runner connect error: ${error.cause?.message ?? error.message}. Retrying until reconnected.`);
      await sleep(1_000, stop.signal);
      continue;
    }
    if (answer.status === 204) continue;
    if (answer.status === 400) {
      // actions/runner#3823: the real runner treats BadRequest as retryable and never exits.
      fail(
        `Runner connect error: Failed to get job message. Request to ${BROKER_DISPLAY_URL} failed with status: BadRequest. Error message Error: Bad Request. Retrying until reconnected.`,
      );
      await sleep(Number(answer.body?.retryAfterMs) || 200, stop.signal);
      continue;
    }
    if (answer.status === 401) {
      const reopened = await request('POST', `${broker}/sessions`, {
        auth,
        body: { version, os: 'Linux', name: runner.agentName },
      }).catch(() => undefined);
      if (reopened?.status === 201) sessionId = reopened.body.sessionId;
      else await sleep(1_000, stop.signal);
      continue;
    }
    if (answer.status === 404) {
      fail('The runner no longer exists on the server. Please reconfigure the runner.');
      return 1;
    }
    if (answer.status !== 200) {
      fail(
        `Runner connect error: Failed to get job message. Request to ${BROKER_DISPLAY_URL} failed with status: ${statusName(answer.status)}. Retrying until reconnected.`,
      );
      await sleep(1_000, stop.signal);
      continue;
    }

    currentJob = answer.body;
    status(`Running job: ${currentJob.jobName}`);
    const runUntil = Date.now() + (Number(currentJob.durationMs) || 0);
    while (Date.now() < runUntil && !stop.signal.aborted) {
      await sleep(Math.min(1_000, runUntil - Date.now()), stop.signal);
      if (Date.now() < runUntil && !stop.signal.aborted) {
        await request('POST', `${broker}/jobs/${currentJob.jobId}/renew`, { auth, body: {} }).catch(() => undefined);
      }
    }
    if (stop.signal.aborted) {
      status(`Job ${currentJob.jobName} completed with result: Canceled`);
      return shutdown();
    }
    const done = await request('POST', `${broker}/jobs/${currentJob.jobId}/complete`, {
      auth,
      body: { result: 'Succeeded' },
    }).catch(() => undefined);
    if (done?.status !== 200) diag('WARN', 'JobDispatcher', 'The job completion was not acknowledged.');
    status(`Job ${currentJob.jobName} completed with result: Succeeded`);
    currentJob = undefined;
    if (ephemeral) {
      // An ephemeral runner takes one job; the service deletes its registration.
      say('Runner listener exit with 0 return code, stop the service, no retry needed.');
      return 0;
    }
  }
}

// ───────────── main ─────────────

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const { flags, positional } = parseArgs(rest);
  if (flags.version === true) {
    process.stdout.write(`${process.env.RUNNER_VERSION || BUILT_IN_VERSION}\n`);
    return 0;
  }
  switch (command) {
    case 'configure':
      if (positional[0] === 'remove') return remove(flags);
      return configure(flags);
    case 'run':
      return run(flags);
    default:
      fail(`Unknown command ${command}`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    fail(`Unhandled error: ${error?.message ?? error}`);
    process.exit(1);
  },
);
