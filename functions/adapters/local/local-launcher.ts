import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, constants as fsConstants, type WriteStream } from 'node:fs';
import { access, chmod, lstat, mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { EnvName } from '../../config/env-names.ts';
import {
  type Launch,
  LaunchConfigError,
  type LaunchRequest,
  type LaunchSummary,
  LaunchTransientError,
  type RegularRunnerRequest,
} from '../../ports/launcher.ts';
import { type Clock, type Logger, systemClock } from '../../ports/runtime.ts';
import {
  type WarmBootRequest,
  type WarmHandoffRequest,
  type WarmLaunch,
  type WarmRunnerLauncher,
  warmIdleSeconds,
} from '../../ports/warm-launcher.ts';
import { ConfigScriptError } from './config-script-error.ts';
import { DirectoryTail, LineSplitter } from './log-tail.ts';
import {
  type GroupRef,
  isLeaderAlive,
  LaunchKind,
  type PidRecord,
  processIdentity,
  readPidRecord,
  removePidRecord,
  terminateGroup,
  writePidRecord,
} from './process-table.ts';
import { freshRunnerCopy, pruneRunnerCopy, RUNNER_LOG_NAME } from './runner-copy.ts';
import { assertSafeExtraEnvironment, runnerEnvironment } from './runner-environment.ts';

/*
 * Local process launcher (docs/design.md "Local mode").
 *
 * - launchId is `local:<runnerName>`: deterministic, so a retried launch, `stop` after a server restart
 *   and `listActive` all agree without any state beyond the pid file in the runner's directory.
 * - Each launch runs in a fresh copy of RUNNER_DIR at `<workRoot>/<runnerName>`; after exit the copy is
 *   pruned to `runner.log` and `_diag/` unless `keepCopies`.
 * - The JIT config goes in ACTIONS_RUNNER_INPUT_JITCONFIG by default (the real runner reads
 *   `ACTIONS_RUNNER_INPUT_<ARG>` and removes it from its environment before running jobs), so it never
 *   shows in `ps`; `jitConfigDelivery: 'argv'` passes `run.sh --jitconfig <config>` instead.
 * - `config.sh` gets the registration token as `--token` (the contract's command line); the token is
 *   short-lived and removed from everything the launcher prints, logs or throws.
 * - Runners lead their own process group (spawned detached): `stop` signals the whole group, and the
 *   server's Ctrl-C does not reach them — call `close()` on shutdown.
 */

export type RunnerLineSource = 'stdout' | 'stderr' | 'diag';

export interface RunnerLineEvent {
  launchId: string;
  runnerName: string;
  source: RunnerLineSource;
  line: string;
  at: number;
  /** For `diag` lines: the file under `_diag/` the line came from. */
  file?: string;
}

export interface RunnerExitEvent {
  launchId: string;
  runnerName: string;
  /** Exit code of `run.sh`; null when killed by a signal or when the process was not our child. */
  code: number | null;
  signal: string | null;
  at: number;
}

export interface LocalLauncherListener {
  onLine?: (event: RunnerLineEvent) => void;
  onExit?: (event: RunnerExitEvent) => void;
}

export const JitConfigDelivery = { env: 'env', argv: 'argv' } as const;
export type JitConfigDelivery = (typeof JitConfigDelivery)[keyof typeof JitConfigDelivery];

export interface LocalLauncherOptions extends LocalLauncherListener {
  /** An extracted actions runner (`config.sh`, `run.sh`): RUNNER_DIR. Used for a request without a pool of `poolRunnerDirs`. */
  runnerDir: string;
  /**
   * Pool name → that pool's extracted runner (its `runnerDir`): a request naming the pool starts from a
   * fresh copy of this folder instead of `runnerDir`.
   */
  poolRunnerDirs?: Readonly<Record<string, string>>;
  /** Where per-runner copies live, e.g. `<STATE_DIR>/runners`. Must not be inside `runnerDir`. */
  workRoot: string;
  /** Extra variables for runner processes (settings, never credentials: those names are refused). */
  env?: Record<string, string>;
  logger?: Logger;
  clock?: Clock;
  /** SIGTERM → SIGKILL delay for `stop`. Default 5000. */
  stopGraceMs?: number;
  /** How often `_diag/*.log` is polled. Default 200. */
  pollIntervalMs?: number;
  /** `config.sh` is killed (and the launch fails as transient) after this long. Default 120000. */
  configTimeoutMs?: number;
  /** Default `env` (ACTIONS_RUNNER_INPUT_JITCONFIG); `argv` uses `run.sh --jitconfig`. */
  jitConfigDelivery?: JitConfigDelivery;
  /** Keep the whole copy after a runner exits (default: keep only runner.log and _diag). */
  keepCopies?: boolean;
  /** A warm runner whose wrapper has not said it is ready by then fails its boot. Default 30000. */
  warmReadyTimeoutMs?: number;
}

/**
 * Warm runners (docs/design.md "Warm runners"): a fresh copy of the pool's runner folder whose process is
 * this wrapper, not `run.sh`. It makes a FIFO (mode 0600) in the folder, says it is ready, and waits at most
 * its idle bound for one line: the job's JIT config, which the launcher writes into the FIFO (nothing on
 * disk, nothing in a command line). It then exports the config as ACTIONS_RUNNER_INPUT_JITCONFIG (as a cold
 * launch passes it) and execs `run.sh` in place, so the pid, the process group and the pid file stay the
 * runner's. Without a hand-off in time it exits 0.
 */
export const WARM_SCRIPT_NAME = '.jit-runners-warm.sh';
export const WARM_HANDOFF_NAME = '.jit-runners-handoff';
export const WARM_READY_LINE = 'jit-runners warm: ready';
const WARM_SCRIPT = `#!/usr/bin/env bash
# jit-runners warm runner: waits for its one JIT config (a line on a FIFO), then runs run.sh with it.
# $1: seconds to wait before giving up. The config never reaches a command line, a file or this output.
set -u
cd "$(dirname "\${BASH_SOURCE[0]}")" || exit 2
handoff="$PWD/${WARM_HANDOFF_NAME}"
rm -f "$handoff"
mkfifo -m 600 "$handoff" || exit 2
exec 3<>"$handoff"
echo "${WARM_READY_LINE}"
config=""
if ! IFS= read -r -t "\${1:-1800}" -u 3 config || [ -z "$config" ]; then
  exec 3<&-
  rm -f "$handoff"
  echo "jit-runners warm: no hand-off within \${1:-1800} s; exiting"
  exit 0
fi
exec 3<&-
rm -f "$handoff"
echo "jit-runners warm: hand-off read; starting run.sh"
export ACTIONS_RUNNER_INPUT_JITCONFIG="$config"
unset config
exec ./run.sh
`;
/** A hand-off this close to a warm runner's own idle deadline is refused (it may be giving up right now). */
const WARM_HANDOFF_MARGIN_MS = 5_000;

export interface LocalLauncher extends WarmRunnerLauncher {
  readonly kind: 'local';
  /** Adds a listener for runner lines and exits; returns the function that removes it. */
  subscribe(listener: LocalLauncherListener): () => void;
  /** Stops every runner this instance started, then refuses new launches. For server shutdown. */
  close(): Promise<void>;
}

const LAUNCH_ID_PREFIX = 'local:';
const RUNNER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function localLaunchId(runnerName: string): string {
  return `${LAUNCH_ID_PREFIX}${runnerName}`;
}

/** The runner name inside a local launch id; LaunchConfigError for ids of another launcher. */
export function parseLocalLaunchId(launchId: string): string {
  const name = launchId.startsWith(LAUNCH_ID_PREFIX) ? launchId.slice(LAUNCH_ID_PREFIX.length) : '';
  if (!RUNNER_NAME.test(name)) throw new LaunchConfigError(`not a local launch id: ${JSON.stringify(launchId)}`);
  return name;
}

export function createLocalLauncher(options: LocalLauncherOptions): LocalLauncher {
  return new LocalProcessLauncher(options);
}

/** A runner directory being prepared or run: the human log and the secrets to keep out of it. */
interface Session {
  /** The folder's name under the work root (the runner's name, or a warm runner's own name). */
  key: string;
  /** The name lines and exits are reported under: a warm runner takes its job's runner name at the hand-off. */
  runnerName: string;
  /** A warm runner waiting for its wrapper's ready line. */
  onReady?: (() => void) | undefined;
  launchId: string;
  dir: string;
  log: WriteStream;
  secrets: string[];
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A runner this instance spawned and still reaps. */
interface OwnLaunch {
  session: Session;
  kind: LaunchKind;
  /** The pid file as written (a warm runner's is written again at its hand-off). */
  record?: PidRecord;
  /** Warm runners: when the wrapper gives up waiting (epoch ms). */
  idleDeadline?: number;
  child: ChildProcess;
  group: GroupRef;
  startedAt: number;
  stdout: LineSplitter;
  stderr: LineSplitter;
  diag: DirectoryTail;
  exit: { code: number | null; signal: string | null } | undefined;
  closed: Deferred;
  recordWritten: Deferred;
  /** Resolves after onExit has been called. */
  done: Deferred;
  finalizing: boolean;
}

const DEFAULT_STOP_GRACE_MS = 5000;
const DEFAULT_POLL_INTERVAL_MS = 200;
const DEFAULT_CONFIG_TIMEOUT_MS = 120_000;
/** After the leader exits, how long its pipes may stay open before leftovers are treated as strays. */
const CLOSE_AFTER_EXIT_MS = 500;
const CONFIG_OUTPUT_TAIL_CHARS = 8000;

const noopLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const waitFor = (promise: Promise<void>, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });

class LocalProcessLauncher implements LocalLauncher {
  readonly kind = 'local' as const;
  private readonly runnerDir: string;
  private readonly poolRunnerDirs: ReadonlyMap<string, string>;
  private readonly workRoot: string;
  private readonly extraEnv: Record<string, string>;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly stopGraceMs: number;
  private readonly pollIntervalMs: number;
  private readonly configTimeoutMs: number;
  private readonly jitConfigDelivery: JitConfigDelivery;
  private readonly keepCopies: boolean;
  private readonly warmReadyTimeoutMs: number;
  private readonly listeners = new Set<LocalLauncherListener>();
  private readonly active = new Map<string, OwnLaunch>();
  private readonly locks = new Map<string, Promise<void>>();
  private closed = false;

  constructor(options: LocalLauncherOptions) {
    this.runnerDir = resolve(options.runnerDir);
    this.poolRunnerDirs = new Map(
      Object.entries(options.poolRunnerDirs ?? {}).map(([pool, dir]) => [pool, resolve(dir)] as const),
    );
    this.workRoot = resolve(options.workRoot);
    for (const dir of new Set([this.runnerDir, ...this.poolRunnerDirs.values()])) {
      const inside = relative(dir, this.workRoot);
      if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
        throw new LaunchConfigError(
          `local launcher: the work root ${this.workRoot} must not be inside ${EnvName.runnerDir} (${dir})`,
        );
      }
    }
    this.extraEnv = { ...options.env };
    assertSafeExtraEnvironment(this.extraEnv);
    this.logger = options.logger ?? noopLogger;
    this.clock = options.clock ?? systemClock;
    this.stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.configTimeoutMs = options.configTimeoutMs ?? DEFAULT_CONFIG_TIMEOUT_MS;
    this.jitConfigDelivery = options.jitConfigDelivery ?? JitConfigDelivery.env;
    this.keepCopies = options.keepCopies ?? false;
    this.warmReadyTimeoutMs = options.warmReadyTimeoutMs ?? 30_000;
    if (options.onLine || options.onExit) {
      this.listeners.add({
        ...(options.onLine ? { onLine: options.onLine } : {}),
        ...(options.onExit ? { onExit: options.onExit } : {}),
      });
    }
  }

  subscribe(listener: LocalLauncherListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async launch(request: LaunchRequest): Promise<Launch> {
    const name = this.checkName(request.runnerName);
    return this.withLock(name, async () => {
      const running = await this.liveLaunchId(name);
      if (running) {
        this.logger.info('local runner already running', { runnerName: name, launchId: running });
        return { launchId: running };
      }
      const source = this.sourceFor(request.pool);
      await this.requireScript(source, 'run.sh');
      const session = await this.prepare(name, source, [request.encodedJitConfig]);
      try {
        const viaArgv = this.jitConfigDelivery === JitConfigDelivery.argv;
        await this.startRunner(session, LaunchKind.jit, {
          args: viaArgv ? ['--jitconfig', request.encodedJitConfig] : [],
          runnerVersion: request.runnerVersion,
          secrets: viaArgv ? {} : { ACTIONS_RUNNER_INPUT_JITCONFIG: request.encodedJitConfig },
        });
      } catch (error) {
        await this.abandon(session);
        throw error;
      }
      return { launchId: session.launchId };
    });
  }

  async launchRegular(request: RegularRunnerRequest): Promise<Launch> {
    const name = this.checkName(request.runnerName);
    return this.withLock(name, async () => {
      const running = await this.liveLaunchId(name);
      if (running) {
        this.logger.info('local runner already running', { runnerName: name, launchId: running });
        return { launchId: running };
      }
      const source = this.sourceFor(request.pool);
      await this.requireScript(source, 'config.sh');
      await this.requireScript(source, 'run.sh');
      const session = await this.prepare(name, source, [request.registrationToken]);
      try {
        await this.runConfigScript(session, request);
        await this.startRunner(session, LaunchKind.regular, {
          args: [],
          runnerVersion: request.runnerVersion,
          secrets: {},
        });
      } catch (error) {
        await this.abandon(session);
        throw error;
      }
      return { launchId: session.launchId };
    });
  }

  async stop(launchId: string): Promise<void> {
    const name = parseLocalLaunchId(launchId);
    await this.withLock(name, async () => {
      const own = this.active.get(name);
      if (own) {
        if (!own.exit) {
          const result = await terminateGroup(own.group, this.stopGraceMs);
          if (!result.stopped) throw new LaunchTransientError(`local runner ${name} survived SIGKILL`);
        }
        await own.done.promise;
        return;
      }
      // Not ours: a runner started by a previous server process (found through its pid file).
      const dir = this.runnerPath(name);
      const record = await readPidRecord(dir);
      if (!record || record.launchId !== launchId) return;
      const result = await terminateGroup(record, this.stopGraceMs);
      if (!result.stopped) throw new LaunchTransientError(`local runner ${name} survived SIGKILL`);
      await removePidRecord(dir);
      if (result.signal === null) return; // already gone before we came: nothing to report
      this.logger.info('local runner stopped (started by an earlier process)', { runnerName: name, launchId });
      if (!this.keepCopies) await pruneRunnerCopy(dir);
      this.emitExit({ launchId, runnerName: name, code: null, signal: result.signal, at: this.clock.now() });
    });
  }

  async listActive(): Promise<LaunchSummary[]> {
    let names: string[];
    try {
      names = await readdir(this.workRoot);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new LaunchTransientError(`cannot list ${this.workRoot}`, { cause: error });
    }
    const found = await Promise.all(names.filter((n) => RUNNER_NAME.test(n)).map((n) => this.activeSummary(n)));
    return found.filter((s): s is LaunchSummary => s !== undefined).sort((a, b) => a.startedAt - b.startedAt);
  }

  /**
   * Boots a warm runner: a fresh copy of the pool's folder running the waiting wrapper; resolves once the
   * wrapper said it is ready (`ready: true`), so a claim of it costs one FIFO write and the runner's start.
   */
  async bootWarm(request: WarmBootRequest & { maxIdleMs: number }): Promise<WarmLaunch & { ready: boolean }> {
    const name = this.checkName(request.warmName);
    return this.withLock(name, async () => {
      const running = await this.liveLaunchId(name);
      if (running) return { launchId: running, warmName: name, ready: true };
      const source = this.sourceFor(request.pool);
      await this.requireScript(source, 'run.sh');
      const session = await this.prepare(name, source, []);
      const ready = deferred();
      session.onReady = () => {
        session.onReady = undefined;
        ready.resolve();
      };
      let own: OwnLaunch;
      try {
        const script = join(session.dir, WARM_SCRIPT_NAME);
        await writeFile(script, WARM_SCRIPT, { mode: 0o700 });
        await chmod(script, 0o700);
        own = await this.startRunner(session, LaunchKind.warm, {
          script: WARM_SCRIPT_NAME,
          args: [String(warmIdleSeconds(request.maxIdleMs))],
          runnerVersion: request.runnerVersion,
          secrets: {},
        });
      } catch (error) {
        await this.abandon(session);
        throw error;
      }
      own.idleDeadline = own.startedAt + request.maxIdleMs;
      const up = await Promise.race([
        ready.promise.then(() => true),
        own.done.promise.then(() => false),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), this.warmReadyTimeoutMs).unref()),
      ]);
      if (!up) {
        await terminateGroup(own.group, this.stopGraceMs);
        throw new LaunchTransientError(`warm runner ${name} did not get ready within ${this.warmReadyTimeoutMs} ms`);
      }
      this.logger.info('local warm runner ready', { runnerName: name, launchId: session.launchId });
      return { launchId: session.launchId, warmName: name, ready: true };
    });
  }

  /**
   * Hands the job's JIT config to the warm runner: one line written into its FIFO, opened without blocking
   * (no reader: the runner is gone, and the caller launches cold). Its lines, exit and listing carry the job's
   * runner name from now on; the config is redacted from its log as a cold launch's is.
   */
  async handOffWarm(request: WarmHandoffRequest): Promise<void> {
    const key = parseLocalLaunchId(request.warm.launchId);
    if (key !== request.warm.warmName)
      throw new LaunchConfigError(`launch ${request.warm.launchId} is not warm runner ${request.warm.warmName}`);
    const runnerName = this.checkName(request.runnerName);
    await this.withLock(key, async () => {
      const dir = this.runnerPath(key);
      const own = this.active.get(key);
      if (own?.exit) throw new LaunchTransientError(`warm runner ${key} has exited`);
      const record = own?.record ?? (await readPidRecord(dir));
      if (!record || record.kind !== LaunchKind.warm || record.servesRunnerName !== undefined) {
        throw new LaunchTransientError(`warm runner ${key} is not waiting for a hand-off`);
      }
      const deadline = own?.idleDeadline;
      if (deadline !== undefined && this.clock.now() > deadline - WARM_HANDOFF_MARGIN_MS) {
        throw new LaunchTransientError(`warm runner ${key} is about to give up waiting`);
      }
      const fifo = join(dir, WARM_HANDOFF_NAME);
      const info = await lstat(fifo).catch(() => undefined);
      if (!info?.isFIFO()) throw new LaunchTransientError(`warm runner ${key} has no hand-off pipe`);
      // Listed and reported as the job's runner from here on (a restarted server reads the same from the pid file).
      const serving: PidRecord = { ...record, servesRunnerName: runnerName };
      await writePidRecord(dir, serving);
      if (own) {
        own.record = serving;
        own.session.secrets.push(request.encodedJitConfig);
        own.session.runnerName = runnerName;
      }
      let handle: Awaited<ReturnType<typeof open>> | undefined;
      try {
        handle = await open(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW);
        const line = Buffer.from(`${request.encodedJitConfig}\n`);
        const { bytesWritten } = await handle.write(line);
        if (bytesWritten !== line.length) throw new Error(`short write (${bytesWritten} of ${line.length} bytes)`);
      } catch (error) {
        // ENXIO: nobody reads the pipe any more. The runner cannot serve: back to its own name and stop it.
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (own) own.session.runnerName = key;
        await writePidRecord(dir, record).catch(() => undefined);
        if (own && !own.exit) await terminateGroup(own.group, this.stopGraceMs).catch(() => undefined);
        throw new LaunchTransientError(`cannot hand off to warm runner ${key}${code ? ` (${code})` : ''}`);
      } finally {
        await handle?.close().catch(() => undefined);
      }
      this.logger.info('local warm runner handed its job', {
        runnerName,
        warmName: key,
        launchId: request.warm.launchId,
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const results = await Promise.allSettled([...this.active.values()].map((own) => this.stop(own.session.launchId)));
    for (const result of results) {
      if (result.status === 'rejected')
        this.logger.warn('local runner did not stop on close', { error: String(result.reason) });
    }
  }

  // ── launch steps ────────────────────────────────────────────────────────────────────────────────

  private checkName(runnerName: string): string {
    if (!RUNNER_NAME.test(runnerName)) {
      throw new LaunchConfigError(`invalid runner name for the local launcher: ${JSON.stringify(runnerName)}`);
    }
    if (this.closed) throw new LaunchTransientError('the local launcher is shutting down');
    return runnerName;
  }

  private runnerPath(name: string): string {
    return join(this.workRoot, name);
  }

  /**
   * Launches for one runner name are serialized: a retried launch racing the first must find its pid
   * file (idempotency), and `stop` must not race the copy it would delete.
   */
  private async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const run = previous.then(work);
    const tail = run.then(
      () => {},
      () => {},
    );
    this.locks.set(name, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    }
  }

  /** The launch id of a live process for this name, ours or a previous server's; waits out a reap in progress. */
  private async liveLaunchId(name: string): Promise<string | undefined> {
    const own = this.active.get(name);
    if (own) {
      if (!own.exit) return own.session.launchId;
      await own.done.promise;
    }
    const record = await readPidRecord(this.runnerPath(name));
    if (!record) return undefined;
    if (await isLeaderAlive(record)) return record.launchId;
    // The leader is gone; end whatever it left behind before its directory is replaced.
    await terminateGroup(record, this.stopGraceMs);
    return undefined;
  }

  private async activeSummary(name: string): Promise<LaunchSummary | undefined> {
    const own = this.active.get(name);
    if (own) {
      return own.exit
        ? undefined
        : { launchId: own.session.launchId, runnerName: own.session.runnerName, startedAt: own.startedAt };
    }
    const record = await readPidRecord(this.runnerPath(name));
    if (!record || record.runnerName !== name || !(await isLeaderAlive(record))) return undefined;
    // A warm runner that was handed a job is listed as that job's runner.
    return { launchId: record.launchId, runnerName: record.servesRunnerName ?? name, startedAt: record.startedAt };
  }

  /** The folder a runner of `pool` is copied from: the pool's own, else `runnerDir`. */
  private sourceFor(pool: string | undefined): string {
    return (pool !== undefined && this.poolRunnerDirs.get(pool)) || this.runnerDir;
  }

  private async requireScript(source: string, script: string): Promise<void> {
    const path = join(source, script);
    try {
      const info = await stat(path);
      if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      await access(path, fsConstants.X_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not executable' : `is unusable (${code})`;
      throw new LaunchConfigError(
        `${EnvName.runnerDir}: ${path} ${why}; ${EnvName.runnerDir} must hold an extracted actions runner`,
      );
    }
  }

  private async prepare(name: string, source: string, secrets: string[]): Promise<Session> {
    const dir = this.runnerPath(name);
    try {
      await freshRunnerCopy(source, dir);
      await mkdir(join(dir, '_tmp'), { recursive: true });
    } catch (error) {
      throw new LaunchTransientError(`cannot copy ${EnvName.runnerDir} to ${dir}`, { cause: error });
    }
    const log = createWriteStream(join(dir, RUNNER_LOG_NAME), { flags: 'a', mode: 0o600 });
    log.on('error', (error) => this.logger.warn('cannot write runner.log', { runnerName: name, error: String(error) }));
    return {
      key: name,
      runnerName: name,
      launchId: localLaunchId(name),
      dir,
      log,
      secrets: secrets.filter((s) => s.length > 0),
    };
  }

  /** A launch that failed before its runner started: close its log and drop the copy. */
  private async abandon(session: Session): Promise<void> {
    if (!session.log.writableEnded) await new Promise<void>((done) => session.log.end(done));
    if (!this.keepCopies) await pruneRunnerCopy(session.dir);
  }

  private environment(session: Session, runnerVersion: string, secrets: Record<string, string>) {
    return runnerEnvironment({
      home: session.dir,
      tmpDir: join(session.dir, '_tmp'),
      runnerVersion,
      parent: process.env,
      extra: this.extraEnv,
      secrets,
    });
  }

  private async spawnScript(
    session: Session,
    script: string,
    args: string[],
    env: Record<string, string>,
  ): Promise<ChildProcess> {
    const path = join(session.dir, script);
    let child: ChildProcess;
    try {
      // detached: the child leads a new process group (and session), so the group can be signalled as one.
      child = spawn(path, args, { cwd: session.dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      throw spawnError(path, error);
    }
    try {
      await new Promise<void>((ready, failed) => {
        child.once('spawn', ready);
        child.once('error', failed);
      });
    } catch (error) {
      throw spawnError(path, error);
    }
    child.on('error', (error) =>
      this.logger.warn('runner process error', { runnerName: session.runnerName, error: error.message }),
    );
    return child;
  }

  private async runConfigScript(session: Session, request: RegularRunnerRequest): Promise<void> {
    const args = [
      '--unattended',
      '--url',
      request.url,
      '--token',
      request.registrationToken,
      '--name',
      request.runnerName,
      '--labels',
      request.labels.join(','),
      '--no-default-labels',
      '--disableupdate',
    ];
    const child = await this.spawnScript(
      session,
      'config.sh',
      args,
      this.environment(session, request.runnerVersion, {}),
    );
    const group: GroupRef = { pid: child.pid ?? 0 };
    let output = '';
    const collect = (source: 'stdout' | 'stderr') =>
      new LineSplitter((line) => {
        const clean = this.emitLine(session, source, line);
        output = `${output}${clean}\n`.slice(-CONFIG_OUTPUT_TAIL_CHARS);
      });
    const out = collect('stdout');
    const err = collect('stderr');
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void terminateGroup(group, this.stopGraceMs);
    }, this.configTimeoutMs);
    const exit = await new Promise<{ code: number | null; signal: string | null }>((done) => {
      child.once('close', (code, signal) => done({ code, signal }));
    });
    clearTimeout(timer);
    out.flush();
    err.flush();
    if (timedOut) {
      throw new LaunchTransientError(
        `config.sh for runner ${session.runnerName} did not finish within ${this.configTimeoutMs} ms`,
      );
    }
    if (exit.code !== 0) {
      throw new ConfigScriptError(session.runnerName, exit.code, exit.signal, output.trimEnd());
    }
    this.logger.info('local regular runner configured', { runnerName: session.runnerName });
  }

  private async startRunner(
    session: Session,
    kind: LaunchKind,
    run: { args: string[]; runnerVersion: string; secrets: Record<string, string>; script?: string },
  ): Promise<OwnLaunch> {
    const child = await this.spawnScript(
      session,
      run.script ?? 'run.sh',
      run.args,
      this.environment(session, run.runnerVersion, run.secrets),
    );
    const pid = child.pid;
    if (pid === undefined) throw new LaunchTransientError(`run.sh for runner ${session.runnerName} has no pid`);
    const startedAt = this.clock.now();
    const own: OwnLaunch = {
      session,
      kind,
      child,
      group: { pid },
      startedAt,
      stdout: new LineSplitter((line) => this.emitLine(session, 'stdout', line)),
      stderr: new LineSplitter((line) => this.emitLine(session, 'stderr', line)),
      diag: new DirectoryTail(
        join(session.dir, '_diag'),
        (line, file) => this.emitLine(session, 'diag', line, file),
        (error) =>
          this.logger.warn('cannot read runner _diag', { runnerName: session.runnerName, error: String(error) }),
      ),
      exit: undefined,
      closed: deferred(),
      recordWritten: deferred(),
      done: deferred(),
      finalizing: false,
    };
    this.active.set(session.key, own);
    child.stdout?.on('data', (chunk: Buffer) => own.stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => own.stderr.push(chunk));
    child.once('close', () => own.closed.resolve());
    child.once('exit', (code, signal) => {
      own.exit = { code, signal };
      void this.reap(own);
    });
    own.diag.start(this.pollIntervalMs);

    try {
      const identity = await processIdentity(pid);
      own.group = { pid, ...identity };
      const record: PidRecord = {
        version: 1,
        launchId: session.launchId,
        runnerName: session.runnerName,
        kind,
        pid,
        startedAt,
        ...identity,
      };
      await writePidRecord(session.dir, record);
      own.record = record;
    } catch (error) {
      // Without its pid file a restarted server could not find this runner: do not leave it running.
      own.recordWritten.resolve();
      await terminateGroup(own.group, 0);
      await own.done.promise;
      throw new LaunchTransientError(`cannot record the process of runner ${session.runnerName}`, { cause: error });
    }
    own.recordWritten.resolve();
    this.logger.info('local runner started', { runnerName: session.runnerName, launchId: session.launchId, pid, kind });
    return own;
  }

  // ── exit ────────────────────────────────────────────────────────────────────────────────────────

  /**
   * After `run.sh` exits: wait for its pipes to drain; if something in its group still holds them, the
   * runner left processes behind — an ephemeral runner owns nothing after exit, so they are ended.
   */
  private async reap(own: OwnLaunch): Promise<void> {
    if (!(await waitFor(own.closed.promise, CLOSE_AFTER_EXIT_MS))) {
      await terminateGroup(own.group, this.stopGraceMs);
      if (!(await waitFor(own.closed.promise, 1000))) {
        // A process outside the group (e.g. one that called setsid) still holds the pipes.
        own.child.stdout?.destroy();
        own.child.stderr?.destroy();
      }
    }
    await this.finalize(own);
  }

  private async finalize(own: OwnLaunch): Promise<void> {
    if (own.finalizing) return;
    own.finalizing = true;
    const { session } = own;
    try {
      own.stdout.flush();
      own.stderr.flush();
      await own.diag.stop();
      await own.recordWritten.promise;
      await removePidRecord(session.dir);
      if (!session.log.writableEnded) await new Promise<void>((done) => session.log.end(done));
      if (!this.keepCopies) await pruneRunnerCopy(session.dir);
    } catch (error) {
      this.logger.warn('local runner cleanup failed', { runnerName: session.runnerName, error: String(error) });
    } finally {
      this.active.delete(session.key);
      const exit = own.exit ?? { code: null, signal: null };
      this.logger.info('local runner exited', {
        runnerName: session.runnerName,
        launchId: session.launchId,
        code: exit.code,
        signal: exit.signal,
      });
      this.emitExit({ launchId: session.launchId, runnerName: session.runnerName, ...exit, at: this.clock.now() });
      own.done.resolve();
    }
  }

  // ── events ──────────────────────────────────────────────────────────────────────────────────────

  /** Redacts, appends to runner.log and notifies listeners; returns the redacted line. */
  private emitLine(session: Session, source: RunnerLineSource, raw: string, file?: string): string {
    if (session.onReady && source === 'stdout' && raw === WARM_READY_LINE) session.onReady();
    let line = raw;
    for (const secret of session.secrets) line = line.split(secret).join('***');
    const at = this.clock.now();
    if (session.log.writable) {
      session.log.write(`${new Date(at).toISOString()} ${file ? `diag:${file}` : source} ${line}\n`);
    }
    const event: RunnerLineEvent = {
      launchId: session.launchId,
      runnerName: session.runnerName,
      source,
      line,
      at,
      ...(file !== undefined ? { file } : {}),
    };
    for (const listener of this.listeners) {
      try {
        listener.onLine?.(event);
      } catch (error) {
        this.logger.warn('runner line listener failed', { runnerName: session.runnerName, error: String(error) });
      }
    }
    return line;
  }

  private emitExit(event: RunnerExitEvent): void {
    for (const listener of this.listeners) {
      try {
        listener.onExit?.(event);
      } catch (error) {
        this.logger.warn('runner exit listener failed', { runnerName: event.runnerName, error: String(error) });
      }
    }
  }
}

/**
 * Spawn failures carry `spawnargs` (which may hold a JIT config): rebuild the error from its code only.
 */
function spawnError(path: string, error: unknown): LaunchConfigError {
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
  const why =
    code === 'ENOENT'
      ? 'does not exist (or its #! interpreter is missing)'
      : code === 'EACCES'
        ? 'is not executable'
        : code === 'ENOEXEC'
          ? 'is not a runnable script (missing #! line?)'
          : `cannot be started (${code})`;
  return new LaunchConfigError(`${path} ${why}`, { cause: new Error(`spawn ${code}`) });
}
