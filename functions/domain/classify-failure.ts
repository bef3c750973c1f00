import { BootstrapExit } from './bootstrap-exit.ts';
import { FailureClass } from './failure-class.ts';
import {
  API_SIGNATURES,
  type ApiCondition,
  type ApiSignature,
  LOG_SIGNATURES,
  type LogSignature,
} from './failure-signatures.ts';

/** Where a classification came from. */
export const ClassificationSource = { log: 'log', api: 'api', timeout: 'timeout', event: 'event' } as const;
export type ClassificationSource = (typeof ClassificationSource)[keyof typeof ClassificationSource];

/**
 * What went wrong, as data. `signature` is the id of the matched signature (see `failure-signatures.ts`);
 * `detail` is a human sentence built from the signature and a few safe facts (host, version, status,
 * endpoint) — never the raw line, so no token or JIT config can leak through it.
 */
export interface Classification {
  class: FailureClass;
  signature: string;
  detail: string;
  source?: ClassificationSource;
  /** API failures: the HTTP status (0 = no answer). */
  status?: number;
  /** API failures: how long GitHub asked us to wait (retry-after). */
  retryAfterMs?: number;
}

// ───────────── runner log lines ─────────────

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour escapes are control characters by definition
const ANSI_ESCAPE = /\u001b\[[0-9;?]*[A-Za-z]/g;
const MAX_LINE = 16_384;

/** Strips ANSI colour codes, carriage returns and surrounding blanks; caps absurdly long lines. */
export function normaliseLogLine(line: string): string {
  return line.slice(0, MAX_LINE).replace(ANSI_ESCAPE, '').replace(/\r/g, '').trim();
}

function lineMatches(signature: LogSignature, line: string): boolean {
  if (!signature.pattern.test(line)) return false;
  return signature.context ? signature.context.test(line) : true;
}

/** Safe facts to quote in `detail`: the host the runner talked to, the runner version. */
function logFacts(line: string): string {
  const facts: string[] = [];
  const host = /\bRequest to (https?:\/\/[^/\s?#]+)/i.exec(line)?.[1];
  if (host) facts.push(`host ${host}`);
  const version = /\bRunner version (v?\d+\.\d+\.\d+)\b/i.exec(line)?.[1];
  if (version) facts.push(`version ${version.startsWith('v') ? version : `v${version}`}`);
  // The bootstrap's checksum line: which tarball, the pinned digest and what came instead (hashes, never secrets).
  const tarball = /\((actions-runner-[A-Za-z0-9._-]+\.tar\.gz)\)/.exec(line)?.[1];
  if (tarball) facts.push(tarball);
  const expected = /\bexpected sha256 ([0-9a-f]{64})\b/i.exec(line)?.[1];
  if (expected) facts.push(`expected sha256 ${expected.toLowerCase()}`);
  const got = expected ? /\bgot ([0-9a-f]{64})\b/i.exec(line)?.[1] : undefined;
  if (got) facts.push(`got ${got.toLowerCase()}`);
  return facts.length > 0 ? ` (${facts.join(', ')})` : '';
}

/**
 * Classifies one runner log line (stdout/stderr, `_diag/*.log`, CloudWatch Logs event message).
 * Lines no signature matches give `undefined`: unknown lines are ignored, never guessed.
 */
export function classifyLogLine(line: string): Classification | undefined {
  const text = normaliseLogLine(line);
  if (!text) return undefined;
  const signature = LOG_SIGNATURES.find((s) => lineMatches(s, text));
  if (!signature) return undefined;
  return {
    class: signature.class,
    signature: signature.id,
    detail: `${signature.description}${logFacts(text)}`,
    source: ClassificationSource.log,
  };
}

/** Lines that show a runner making progress (picked a job, reconnected, finished a job). */
const PROGRESS_LINE = [/\bRunning job: /, /\bRunner reconnected\b/, /\bJob .+ completed with result: /];

/**
 * Whether a log line shows the runner working. Watchers use it to tell a runner that recovered from
 * a connect error apart from one that keeps looping; it never classifies a failure.
 */
export function isRunnerProgressLine(line: string): boolean {
  const text = normaliseLogLine(line);
  return PROGRESS_LINE.some((p) => p.test(text));
}

// ───────────── GitHub API errors ─────────────

export interface ApiErrorInput {
  /** HTTP status; 0 when the request got no answer (network error, timeout). */
  status: number;
  /** Response body text (GitHub error bodies never echo tokens). */
  body: string;
  /** `METHOD /path` of the call, template or concrete, e.g. `GET /repos/{owner}/{repo}/actions/runners/{runner_id}`. */
  endpoint: string;
  scopeKey: string | undefined;
  /** The call was about a runner we launched (makes a lookup 500/503 a metadata-missing signal). */
  runnerLaunched?: boolean;
  /** 409 only: the runner name is one this fleet minted for this job (see `runner-name.ts`). */
  nameIsOurs?: boolean;
  /** The `retry-after` header, in seconds, when GitHub sent one. */
  retryAfterSeconds?: number;
}

function statusMatches(signature: ApiSignature, status: number): boolean {
  if (!signature.statuses) return true;
  return signature.statuses.some((s) => (typeof s === 'number' ? s === status : status >= s[0] && status <= s[1]));
}

function conditionsHold(when: ApiCondition | undefined, facts: Required<ApiCondition>): boolean {
  if (!when) return true;
  return (Object.keys(when) as (keyof ApiCondition)[]).every((k) => when[k] === facts[k]);
}

/** The `message` of a GitHub JSON error body, or the text itself, shortened for a detail line. */
function bodyMessage(body: string): string {
  let message = body.trim();
  try {
    const parsed: unknown = JSON.parse(message);
    if (parsed && typeof parsed === 'object' && 'message' in parsed && typeof parsed.message === 'string') {
      message = parsed.message;
    }
  } catch {
    // not JSON: use the text as is
  }
  message = message.replace(/\s+/g, ' ').trim();
  return message.length > 200 ? `${message.slice(0, 197)}...` : message;
}

/**
 * Classifies a GitHub API error from its status, endpoint and body. Every input gets a class:
 * an API failure always needs an answer (retry, back off, heal or fail), unlike a log line.
 */
export function classifyApiError(input: ApiErrorInput): Classification {
  const rateLimited = input.retryAfterSeconds !== undefined || /\brate limit\b|\babuse detection\b/i.test(input.body);
  const facts: Required<ApiCondition> = {
    runnerLaunched: input.runnerLaunched === true,
    nameIsOurs: input.nameIsOurs === true,
    rateLimited,
  };
  const endpoint = input.endpoint.trim();
  const signature =
    API_SIGNATURES.find(
      (s) =>
        statusMatches(s, input.status) &&
        (!s.endpoint || s.endpoint.test(endpoint)) &&
        (!s.body || s.body.test(input.body)) &&
        conditionsHold(s.when, facts),
    ) ?? API_SIGNATURES[API_SIGNATURES.length - 1];
  // The table ends with a catch-all, so `signature` is always defined; the fallback satisfies the type checker.
  const matched = signature as ApiSignature;
  const message = bodyMessage(input.body);
  const answered = input.status === 0 ? 'got no answer' : `answered ${input.status}${message ? `: ${message}` : ''}`;
  const scope = input.scopeKey ? ` for ${input.scopeKey}` : '';
  const classification: Classification = {
    class: matched.class,
    signature: matched.id,
    detail: `${matched.description} (${endpoint}${scope} ${answered})`,
    source: ClassificationSource.api,
    status: input.status,
  };
  if (input.retryAfterSeconds !== undefined && input.retryAfterSeconds >= 0) {
    classification.retryAfterMs = Math.round(input.retryAfterSeconds * 1000);
  }
  return classification;
}

// ───────────── timeouts and events ─────────────

export type TimeoutInput =
  | {
      /** A launched runner never showed online/working within `RUNNER_START_TIMEOUT_SECONDS`. */
      kind: 'never-online';
      runnerName: string;
      waitedMs: number;
      /** The API no longer knows the runner (404): its registration is gone. */
      runnerGone?: boolean;
    }
  | {
      /** The runner was up but the job was not picked within the timeout. */
      kind: 'not-picked';
      runnerName: string;
      jobId: number;
      waitedMs: number;
      /** The job GitHub gave this runner instead, when known. */
      runnerTookJobId?: number;
    };

function seconds(ms: number): string {
  return `${Math.round(Math.max(0, ms) / 1000)} s`;
}

/** Classifies what no log line says: a runner that never came online, or a job nobody picked. */
export function classifyTimeout(input: TimeoutInput): Classification {
  switch (input.kind) {
    case 'never-online':
      if (input.runnerGone) {
        return {
          class: FailureClass.registrationGone,
          signature: 'timeout-registration-gone',
          detail: `runner ${input.runnerName} never came online and GitHub no longer knows it (waited ${seconds(input.waitedMs)})`,
          source: ClassificationSource.timeout,
        };
      }
      return {
        class: FailureClass.startTimeout,
        signature: 'timeout-never-online',
        detail: `runner ${input.runnerName} was launched but never came online within ${seconds(input.waitedMs)}`,
        source: ClassificationSource.timeout,
      };
    case 'not-picked':
      if (input.runnerTookJobId !== undefined && input.runnerTookJobId !== input.jobId) {
        return classifyStolenRunner({
          jobId: input.jobId,
          runnerName: input.runnerName,
          tookJobId: input.runnerTookJobId,
        });
      }
      return {
        class: FailureClass.startTimeout,
        signature: 'timeout-not-picked',
        detail: `job ${input.jobId} was not picked by runner ${input.runnerName} within ${seconds(input.waitedMs)}`,
        source: ClassificationSource.timeout,
      };
  }
}

/** The runner minted for `jobId` ran `tookJobId` instead (JIT runners match by labels, not job id). */
export function classifyStolenRunner(input: { jobId: number; runnerName: string; tookJobId: number }): Classification {
  return {
    class: FailureClass.stolen,
    signature: 'runner-took-other-job',
    detail: `runner ${input.runnerName}, minted for job ${input.jobId}, ran job ${input.tookJobId} instead`,
    source: ClassificationSource.event,
  };
}

// ───────────── the bootstrap's exit ─────────────

export interface BootstrapExitInput {
  runnerName: string;
  /** Exit status of `runner/bootstrap.sh` (on CodeBuild: the build phase's `exit status N`). */
  code: number;
}

/**
 * Classifies the exits of `runner/bootstrap.sh` that no retry can change (see `bootstrap-exit.ts`); any
 * other code gives `undefined` and the caller treats the end as it treats any runner that ended early.
 * The bootstrap's own log line says more (version, digests) and is classified by {@link classifyLogLine}.
 */
export function classifyBootstrapExit(input: BootstrapExitInput): Classification | undefined {
  switch (input.code) {
    case BootstrapExit.checksumMismatch:
      return {
        class: FailureClass.checksumMismatch,
        signature: 'bootstrap-exit-checksum-mismatch',
        detail: `the bootstrap of runner ${input.runnerName} refused the runner tarball: its SHA-256 is not the one pinned in runner/checksums.json (exit ${input.code}; its log line names the version and both digests)`,
        source: ClassificationSource.event,
      };
    case BootstrapExit.noChecksum:
      return {
        class: FailureClass.config,
        signature: 'bootstrap-exit-no-checksum',
        detail: `the bootstrap of runner ${input.runnerName} found no SHA-256 for the runner tarball in runner/checksums.json (exit ${input.code})`,
        source: ClassificationSource.event,
      };
    default:
      return undefined;
  }
}
