import { FailureClass } from './failure-class.ts';

/**
 * The data behind `classify-failure.ts`: every failure signature of docs/design.md "Failure classes" in one table, so the
 * classifier, the CloudWatch Logs subscription filter (CDK stack) and the docs agree on the exact
 * strings. Order matters: the first matching signature wins.
 */

export const SignatureSource = { log: 'log', api: 'api' } as const;
export type SignatureSource = (typeof SignatureSource)[keyof typeof SignatureSource];

/** A signature matched against one runner log line (stdout/stderr, `_diag/*.log`, CloudWatch Logs event). */
export interface LogSignature {
  id: string;
  class: FailureClass;
  source: 'log';
  /** Matched anywhere in the line, so timestamps and prefixes (`[… ERR  Runner]`, CloudWatch) do not matter. */
  pattern: RegExp;
  /** When present, the line must also match this (e.g. an error context around a short phrase). */
  context?: RegExp;
  /** Literal, case-exact phrase a CloudWatch Logs filter can pre-select on; the classifier still decides. */
  filterTerm: string;
  description: string;
}

/** Extra facts about an API failure that a body regex cannot see. */
export interface ApiCondition {
  /** The runner the call was about was launched by us (a lookup 5xx then means missing metadata). */
  runnerLaunched?: boolean;
  /** The 409 is about a name this fleet minted (deterministic runner names). */
  nameIsOurs?: boolean;
  /** GitHub said this is a rate limit (retry-after header, or a rate-limit message). */
  rateLimited?: boolean;
}

/** A signature matched against a GitHub API error: status, endpoint and body. */
export interface ApiSignature {
  id: string;
  class: FailureClass;
  source: 'api';
  /** Status codes (exact) or inclusive ranges `[from, to]`; absent = any status. */
  statuses?: readonly (number | readonly [number, number])[];
  /** `METHOD /path` of the call; absent = any endpoint. */
  endpoint?: RegExp;
  /** Response body text; absent = any body. */
  body?: RegExp;
  /** Every listed condition must hold with the given value. */
  when?: ApiCondition;
  description: string;
}

export type FailureSignature = LogSignature | ApiSignature;

/**
 * `breaker open` is a short phrase that prose can contain, so in logs it counts only next to an
 * error word the runner prints around server answers (`Runner connect error:`, `Error message`,
 * `failed with status`, `ERR`, `Exception`).
 */
const ERROR_CONTEXT = /\b(?:error|err|exception|failed|failure|status|http)\b/i;

export const LOG_SIGNATURES: readonly LogSignature[] = [
  // The bootstrap's own line (runner/bootstrap.sh, exit 4), printed before any runner exists. Its prefix
  // is required: the phrase alone could be anyone's words.
  {
    id: 'bootstrap-checksum-mismatch',
    class: FailureClass.checksumMismatch,
    source: 'log',
    pattern: /\bjit-runners bootstrap: error: checksum mismatch for runner version \d+\.\d+\.\d+\b/,
    filterTerm: 'checksum mismatch for runner version',
    description: 'the bootstrap refused the runner tarball: its SHA-256 is not the one pinned in runner/checksums.json',
  },
  // Before metadata-missing: the broker answers `BadRequest … breaker open` once bad requests pile up,
  // and docs/design.md "Configuration" says `breaker open` alone means back off, not run the workaround.
  {
    id: 'breaker-open',
    class: FailureClass.breakerOpen,
    source: 'log',
    pattern: /\bbreaker open\b/i,
    context: ERROR_CONTEXT,
    filterTerm: 'breaker open',
    description: "GitHub's backend circuit breaker answered `breaker open`",
  },
  {
    id: 'version-deprecated',
    class: FailureClass.versionDeprecated,
    source: 'log',
    pattern: /\bRunner version \S+ is deprecated and cannot receive messages\b/i,
    filterTerm: 'is deprecated and cannot receive messages',
    description: 'GitHub refuses this runner version: it is deprecated and cannot receive messages',
  },
  {
    id: 'version-out-of-date',
    class: FailureClass.versionDeprecated,
    source: 'log',
    pattern: /\bYour runner version is out of date\b/i,
    filterTerm: 'Your runner version is out of date',
    description: 'GitHub says the runner version is out of date',
  },
  {
    id: 'session-registration-deleted',
    class: FailureClass.registrationGone,
    source: 'log',
    pattern: /\bFailed to create a session\. The runner registration has been deleted\b/i,
    filterTerm: 'The runner registration has been deleted',
    description: 'the runner could not create a session: its registration has been deleted from the server',
  },
  {
    id: 'registration-deleted',
    class: FailureClass.registrationGone,
    source: 'log',
    pattern: /\bThe runner registration has been deleted from the server\b/i,
    filterTerm: 'The runner registration has been deleted',
    description: 'the runner registration has been deleted from the server',
  },
  {
    id: 'runner-no-longer-exists',
    class: FailureClass.registrationGone,
    source: 'log',
    pattern: /\bThe runner no longer exists on the server\b/i,
    filterTerm: 'The runner no longer exists on the server',
    description: 'the runner no longer exists on the server',
  },
  // Older runners: `Failed to get job message. Request to https://HOST/message failed with status: BadRequest. …`;
  // newer ones: `Failed to get job message: Error: Bad Request`. Any host (github.com broker, GHES).
  {
    id: 'broker-bad-request',
    class: FailureClass.metadataMissing,
    source: 'log',
    pattern: /\bFailed to get job message\b.*?(?:\bBadRequest\b|\bBad Request\b)/i,
    filterTerm: 'Failed to get job message',
    description: 'the runner loops on `Failed to get job message … BadRequest` (runner metadata missing for the scope)',
  },
  {
    id: 'session-conflict',
    class: FailureClass.transient,
    source: 'log',
    pattern: /\bA session for this runner already exists\b/i,
    filterTerm: 'A session for this runner already exists',
    description: 'a session for this runner already exists (another process holds it; the runner retries)',
  },
  {
    id: 'clock-skew',
    class: FailureClass.config,
    source: 'log',
    pattern: /\bclock may be out of sync with the server time by more than five minutes\b/i,
    filterTerm: 'may be out of sync with the server time',
    description:
      "the runner host's clock is more than five minutes off GitHub's; fix time sync (NTP) on the runner host",
  },
];

const RUNNER_LOOKUP = /^GET\s+\S*\/actions\/runners\/(?:\{[A-Za-z_]+\}|\d+)\/?(?:\?\S*)?$/i;

export const API_SIGNATURES: readonly ApiSignature[] = [
  {
    id: 'api-network',
    class: FailureClass.transient,
    source: 'api',
    statuses: [0],
    description: 'no answer from GitHub (network error or timeout)',
  },
  {
    id: 'api-breaker-open',
    class: FailureClass.breakerOpen,
    source: 'api',
    body: /\bbreaker open\b/i,
    description: "GitHub's backend circuit breaker answered `breaker open`",
  },
  {
    id: 'api-version-deprecated',
    class: FailureClass.versionDeprecated,
    source: 'api',
    statuses: [[400, 499]],
    body: /\bRunner version \S+ is deprecated\b|\bdeprecated and cannot receive messages\b/i,
    description: 'GitHub refuses this runner version: it is deprecated',
  },
  {
    id: 'api-version-out-of-date',
    class: FailureClass.versionDeprecated,
    source: 'api',
    statuses: [[400, 499]],
    body: /\bYour runner version is out of date\b/i,
    description: 'GitHub says the runner version is out of date and can no longer register',
  },
  {
    id: 'api-runner-lookup-5xx',
    class: FailureClass.metadataMissing,
    source: 'api',
    statuses: [500, 503],
    endpoint: RUNNER_LOOKUP,
    when: { runnerLaunched: true },
    description: 'GitHub answers 500/503 when asked about a runner we launched (runner metadata missing for the scope)',
  },
  {
    id: 'api-rate-limited',
    class: FailureClass.transient,
    source: 'api',
    statuses: [429],
    description: 'GitHub rate limit (429)',
  },
  {
    id: 'api-secondary-rate-limit',
    class: FailureClass.transient,
    source: 'api',
    statuses: [403],
    when: { rateLimited: true },
    description: 'GitHub rate limit (403 with retry-after or a rate-limit message)',
  },
  {
    id: 'api-name-taken-ours',
    class: FailureClass.registrationGone,
    source: 'api',
    statuses: [409],
    when: { nameIsOurs: true },
    description:
      'a registration we minted earlier holds this runner name (answer lost); replace it under the next attempt',
  },
  {
    id: 'api-name-taken',
    class: FailureClass.config,
    source: 'api',
    statuses: [409],
    description: 'a runner with this name already exists and it is not one this fleet minted',
  },
  {
    id: 'api-unauthorized',
    class: FailureClass.config,
    source: 'api',
    statuses: [401],
    description: 'GitHub rejected the credentials (App id, private key or installation)',
  },
  {
    id: 'api-forbidden',
    class: FailureClass.config,
    source: 'api',
    statuses: [403],
    description:
      'GitHub refused the call (App permissions: repository Administration or organization Self-hosted runners, read & write)',
  },
  {
    id: 'api-not-found',
    class: FailureClass.config,
    source: 'api',
    statuses: [404],
    description:
      'GitHub answered not found (App not installed on the repository or organization, or runner group missing)',
  },
  {
    id: 'api-unprocessable',
    class: FailureClass.config,
    source: 'api',
    statuses: [422],
    description: 'GitHub rejected the request (runner group limit, labels or runner name)',
  },
  {
    id: 'api-client-error',
    class: FailureClass.config,
    source: 'api',
    statuses: [[400, 499]],
    description: 'GitHub rejected the request',
  },
  {
    id: 'api-server-error',
    class: FailureClass.transient,
    source: 'api',
    statuses: [[500, 599]],
    description: 'GitHub server error',
  },
  {
    id: 'api-unexpected',
    class: FailureClass.transient,
    source: 'api',
    description: 'unexpected answer from GitHub',
  },
];

export const FAILURE_SIGNATURES: readonly FailureSignature[] = [...LOG_SIGNATURES, ...API_SIGNATURES];

/** The phrases a CloudWatch Logs subscription filter selects on (deduplicated, table order). */
export const LOG_FILTER_TERMS: readonly string[] = [...new Set(LOG_SIGNATURES.map((s) => s.filterTerm))];

/** CloudWatch Logs limits a filter pattern to 1024 characters. */
export const MAX_FILTER_PATTERN_LENGTH = 1024;

/**
 * A CloudWatch Logs filter pattern matching any of `terms`: `?"term one" ?"term two"`. Terms are
 * case-sensitive exact phrases in CloudWatch; the runner-events handler re-classifies every
 * event it receives, so a phrase that selects a little too much is harmless.
 */
export function cloudWatchFilterPattern(terms: readonly string[] = LOG_FILTER_TERMS): string {
  if (terms.length === 0) throw new RangeError('a filter pattern needs at least one term');
  const parts = terms.map((term) => {
    if (!term.trim()) throw new RangeError('filter terms must not be blank');
    if (/["\\\r\n]/.test(term))
      throw new RangeError(`filter term must not contain quotes, backslashes or newlines: ${term}`);
    return terms.length === 1 ? `"${term}"` : `?"${term}"`;
  });
  const pattern = parts.join(' ');
  if (pattern.length > MAX_FILTER_PATTERN_LENGTH) {
    throw new RangeError(
      `filter pattern is ${pattern.length} characters; CloudWatch allows ${MAX_FILTER_PATTERN_LENGTH}`,
    );
  }
  return pattern;
}
