import { describe, expect, it } from 'vitest';
import {
  type ApiErrorInput,
  classifyApiError,
  classifyBootstrapExit,
  classifyLogLine,
  classifyStolenRunner,
  classifyTimeout,
  isRunnerProgressLine,
  normaliseLogLine,
} from '../../functions/domain/classify-failure.ts';
import { CHECKSUM_MISMATCH_LINE, MATCHING_LINES, NEAR_MISSES } from './runner-log-lines.ts';

describe('classifyLogLine', () => {
  it.each(MATCHING_LINES)('classifies $name as $class ($signature)', ({ line, class: cls, signature }) => {
    const c = classifyLogLine(line);
    expect(c).toBeDefined();
    expect(c?.class).toBe(cls);
    expect(c?.signature).toBe(signature);
    expect(c?.source).toBe('log');
    expect(c?.detail.length).toBeGreaterThan(10);
  });

  it.each(NEAR_MISSES)('ignores $name', ({ line }) => {
    expect(classifyLogLine(line)).toBeUndefined();
  });

  it('ignores a Failed to get job message error that is followed by the runner recovering', () => {
    const lines = [
      '2026-11-23 05:40:00Z: Listening for Jobs',
      '2026-11-23 05:40:01Z: Runner connect error: Failed to get job message: Error: Service Unavailable. Retrying until reconnected.',
      '2026-11-23 05:40:20Z: Runner reconnected.',
      '2026-11-23 05:40:21Z: Running job: build',
    ];
    expect(lines.map((l) => classifyLogLine(l))).toEqual([undefined, undefined, undefined, undefined]);
    expect(lines.filter(isRunnerProgressLine)).toEqual(lines.slice(2));
  });

  it('treats breaker open as breaker-open even on a BadRequest line (no workaround)', () => {
    const c = classifyLogLine(
      '2026-11-23 05:41:12Z: Runner connect error: Failed to get job message. Request to https://broker.actions.githubusercontent.com/message failed with status: BadRequest. Error message breaker open. Retrying until reconnected.',
    );
    expect(c?.class).toBe('breaker-open');
  });

  it('names the broker host in the detail, for github.com and GHES alike', () => {
    const github = classifyLogLine(
      '2026-11-23 05:40:01Z: Runner connect error: Failed to get job message. Request to https://broker.actions.githubusercontent.com/message failed with status: BadRequest. Error message Error: Bad Request. Retrying until reconnected.',
    );
    const ghes = classifyLogLine(
      '[2026-11-23 05:40:01Z ERR  BrokerServer] System.Exception: Failed to get job message. Request to https://ghes.example.com/_services/broker/message failed with status: BadRequest. Error message Error: Bad Request',
    );
    expect(github?.detail).toContain('https://broker.actions.githubusercontent.com');
    expect(ghes?.detail).toContain('https://ghes.example.com');
    expect(ghes?.detail).not.toContain('_services');
  });

  it('names the refused runner version in the detail', () => {
    const c = classifyLogLine(
      'An error occured: Forbidden Runner version v2.300.0 is deprecated and cannot receive messages.',
    );
    expect(c?.detail).toContain('v2.300.0');
  });

  it("names the version, the tarball and both digests of the bootstrap's checksum mismatch", () => {
    const c = classifyLogLine(CHECKSUM_MISMATCH_LINE);
    expect(c?.class).toBe('checksum-mismatch');
    expect(c?.detail).toContain('version v2.330.0');
    expect(c?.detail).toContain('actions-runner-linux-x64-2.330.0.tar.gz');
    expect(c?.detail).toContain('expected sha256 af5c33fa94f3cc33b8e97937939136a6b04197e6dadfcfb3b6e33ae1bf41e79a');
    expect(c?.detail).toContain(`got ${'0'.repeat(64)}`);
  });

  it('never copies the raw line into the detail, so query strings and secrets stay out', () => {
    const c = classifyLogLine(
      '2026-11-23 05:40:01Z: Runner connect error: Failed to get job message. Request to https://broker.actions.githubusercontent.com/message?sessionId=5e55&token=ghs_SECRETSECRET failed with status: BadRequest. Error message Error: Bad Request. Retrying until reconnected.',
    );
    expect(c?.class).toBe('metadata-missing');
    expect(c?.detail).not.toContain('ghs_SECRETSECRET');
    expect(c?.detail).not.toContain('sessionId');
  });

  it('classifies the same way whatever the case of the message', () => {
    expect(
      classifyLogLine('RUNNER CONNECT ERROR: FAILED TO GET JOB MESSAGE. REQUEST FAILED WITH STATUS: BADREQUEST')?.class,
    ).toBe('metadata-missing');
  });
});

describe('normaliseLogLine', () => {
  it('strips colour codes, carriage returns and surrounding blanks', () => {
    expect(normaliseLogLine('  \u001b[1;31mhello\u001b[0m\r\n')).toBe('hello');
  });
});

describe('isRunnerProgressLine', () => {
  it.each([
    ['2026-11-23 05:40:21Z: Running job: build', true],
    ['2026-11-23 05:40:20Z: Runner reconnected.', true],
    ['2026-11-23 05:42:00Z: Job build completed with result: Succeeded', true],
    ['2026-11-23 05:40:00Z: Listening for Jobs', false],
    ['2026-11-23 05:40:01Z: Runner connect error: Failed to get job message: Error: Bad Request.', false],
  ])('%s → %s', (line, expected) => {
    expect(isRunnerProgressLine(line)).toBe(expected);
  });
});

const RUNNER_LOOKUP = 'GET /repos/{owner}/{repo}/actions/runners/{runner_id}';
const JIT = 'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig';

describe('classifyApiError', () => {
  const base = { scopeKey: 'octo/hello' } as const;
  const cases: readonly [string, ApiErrorInput, string, string][] = [
    [
      'runner lookup 500 for a launched runner',
      { ...base, status: 500, body: '', endpoint: RUNNER_LOOKUP, runnerLaunched: true },
      'metadata-missing',
      'api-runner-lookup-5xx',
    ],
    [
      'runner lookup 503 for a launched runner (concrete path, org scope)',
      {
        ...base,
        status: 503,
        body: 'Service Unavailable',
        endpoint: 'GET /orgs/octo/actions/runners/42',
        runnerLaunched: true,
      },
      'metadata-missing',
      'api-runner-lookup-5xx',
    ],
    [
      'runner lookup 500 for a runner we did not launch',
      { ...base, status: 500, body: '', endpoint: RUNNER_LOOKUP },
      'transient',
      'api-server-error',
    ],
    [
      'runner lookup 502 for a launched runner',
      { ...base, status: 502, body: '', endpoint: RUNNER_LOOKUP, runnerLaunched: true },
      'transient',
      'api-server-error',
    ],
    [
      'runner list 500 for a launched runner (not a lookup)',
      { ...base, status: 500, body: '', endpoint: 'GET /repos/{owner}/{repo}/actions/runners', runnerLaunched: true },
      'transient',
      'api-server-error',
    ],
    [
      'generate-jitconfig 500',
      { ...base, status: 500, body: '{"message":"Server Error"}', endpoint: JIT },
      'transient',
      'api-server-error',
    ],
    [
      'breaker open body on a 503',
      { ...base, status: 503, body: 'breaker open', endpoint: RUNNER_LOOKUP, runnerLaunched: true },
      'breaker-open',
      'api-breaker-open',
    ],
    [
      'breaker open in a JSON message on a 400',
      { ...base, status: 400, body: '{"message":"breaker open"}', endpoint: JIT },
      'breaker-open',
      'api-breaker-open',
    ],
    [
      '403 deprecated runner version',
      {
        ...base,
        status: 403,
        body: '{"message":"Runner version v2.300.0 is deprecated and cannot receive messages."}',
        endpoint: JIT,
      },
      'version-deprecated',
      'api-version-deprecated',
    ],
    [
      '404 runner version out of date',
      {
        ...base,
        status: 404,
        body: '{"message":"Your runner version is out of date and can no longer register with GitHub."}',
        endpoint: 'POST /actions/runner-registration',
      },
      'version-deprecated',
      'api-version-out-of-date',
    ],
    [
      '401 bad credentials',
      { ...base, status: 401, body: '{"message":"Bad credentials"}', endpoint: JIT },
      'config',
      'api-unauthorized',
    ],
    [
      '403 missing permission',
      { ...base, status: 403, body: '{"message":"Resource not accessible by integration"}', endpoint: JIT },
      'config',
      'api-forbidden',
    ],
    [
      '403 secondary rate limit with retry-after',
      {
        ...base,
        status: 403,
        body: '{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}',
        endpoint: JIT,
        retryAfterSeconds: 60,
      },
      'transient',
      'api-secondary-rate-limit',
    ],
    [
      '403 primary rate limit message without retry-after',
      { ...base, status: 403, body: '{"message":"API rate limit exceeded for installation ID 7."}', endpoint: JIT },
      'transient',
      'api-secondary-rate-limit',
    ],
    ['429 too many requests', { ...base, status: 429, body: '', endpoint: JIT }, 'transient', 'api-rate-limited'],
    [
      '404 not installed',
      { ...base, status: 404, body: '{"message":"Not Found"}', endpoint: JIT },
      'config',
      'api-not-found',
    ],
    [
      '422 runner group limit',
      { ...base, status: 422, body: '{"message":"Runner group has reached its limit"}', endpoint: JIT },
      'config',
      'api-unprocessable',
    ],
    [
      '409 name taken, not ours',
      {
        ...base,
        status: 409,
        body: '{"message":"Already exists - A runner with the name jr-1-1 already exists."}',
        endpoint: JIT,
      },
      'config',
      'api-name-taken',
    ],
    [
      '409 name taken, ours',
      { ...base, status: 409, body: '{"message":"Already exists"}', endpoint: JIT, nameIsOurs: true },
      'registration-gone',
      'api-name-taken-ours',
    ],
    [
      '400 bad request',
      { ...base, status: 400, body: '{"message":"Invalid request"}', endpoint: JIT },
      'config',
      'api-client-error',
    ],
    ['status 0 (network)', { ...base, status: 0, body: '', endpoint: JIT }, 'transient', 'api-network'],
    ['504 gateway timeout', { ...base, status: 504, body: '', endpoint: JIT }, 'transient', 'api-server-error'],
    ['an unexpected 304', { ...base, status: 304, body: '', endpoint: JIT }, 'transient', 'api-unexpected'],
  ];

  it.each(cases)('%s', (_name, input, cls, signature) => {
    const c = classifyApiError(input);
    expect(c.class).toBe(cls);
    expect(c.signature).toBe(signature);
    expect(c.source).toBe('api');
    expect(c.status).toBe(input.status);
  });

  it('carries retry-after as milliseconds', () => {
    const c = classifyApiError({ status: 429, body: '', endpoint: JIT, scopeKey: 'o/r', retryAfterSeconds: 7 });
    expect(c.retryAfterMs).toBe(7000);
  });

  it('has no retryAfterMs without a retry-after header', () => {
    expect(classifyApiError({ status: 502, body: '', endpoint: JIT, scopeKey: 'o/r' })).not.toHaveProperty(
      'retryAfterMs',
    );
  });

  it('puts endpoint, scope, status and the JSON message in the detail', () => {
    const c = classifyApiError({
      status: 403,
      body: '{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest"}',
      endpoint: JIT,
      scopeKey: 'octo/hello',
    });
    expect(c.detail).toContain(JIT);
    expect(c.detail).toContain('octo/hello');
    expect(c.detail).toContain('403: Resource not accessible by integration');
    expect(c.detail).not.toContain('documentation_url');
  });

  it('shortens a huge body in the detail', () => {
    const c = classifyApiError({ status: 500, body: 'x'.repeat(5000), endpoint: JIT, scopeKey: undefined });
    expect(c.detail.length).toBeLessThan(400);
  });
});

describe('classifyTimeout', () => {
  it('classifies a runner that never came online as start-timeout', () => {
    const c = classifyTimeout({ kind: 'never-online', runnerName: 'jr-1-1', waitedMs: 120_000 });
    expect(c).toMatchObject({ class: 'start-timeout', signature: 'timeout-never-online', source: 'timeout' });
    expect(c.detail).toContain('120 s');
  });

  it('classifies a never-online runner GitHub no longer knows as registration-gone', () => {
    const c = classifyTimeout({ kind: 'never-online', runnerName: 'jr-1-1', waitedMs: 120_000, runnerGone: true });
    expect(c.class).toBe('registration-gone');
  });

  it('classifies a job nobody picked as start-timeout', () => {
    const c = classifyTimeout({ kind: 'not-picked', runnerName: 'jr-1-1', jobId: 1, waitedMs: 300_000 });
    expect(c).toMatchObject({ class: 'start-timeout', signature: 'timeout-not-picked' });
  });

  it('classifies a job whose runner took another job as stolen', () => {
    const c = classifyTimeout({ kind: 'not-picked', runnerName: 'jr-1-1', jobId: 1, waitedMs: 1, runnerTookJobId: 2 });
    expect(c.class).toBe('stolen');
  });

  it('does not call it stolen when the runner took this very job', () => {
    const c = classifyTimeout({ kind: 'not-picked', runnerName: 'jr-1-1', jobId: 1, waitedMs: 1, runnerTookJobId: 1 });
    expect(c.class).toBe('start-timeout');
  });
});

describe('classifyStolenRunner', () => {
  it('names both jobs and the runner', () => {
    const c = classifyStolenRunner({ jobId: 10, runnerName: 'jr-10-1', tookJobId: 11 });
    expect(c.class).toBe('stolen');
    expect(c.detail).toContain('jr-10-1');
    expect(c.detail).toContain('11');
  });
});

describe('classifyBootstrapExit', () => {
  it('classifies exit 4 as checksum-mismatch', () => {
    const c = classifyBootstrapExit({ runnerName: 'jr-7-1', code: 4 });
    expect(c).toMatchObject({
      class: 'checksum-mismatch',
      signature: 'bootstrap-exit-checksum-mismatch',
      source: 'event',
    });
    expect(c?.detail).toContain('jr-7-1');
    expect(c?.detail).toContain('exit 4');
  });

  it('classifies exit 3 (no checksum for the tarball) as config', () => {
    expect(classifyBootstrapExit({ runnerName: 'jr-7-1', code: 3 })?.class).toBe('config');
  });

  it.each([0, 1, 2, 5, 6, 7, 137])(
    'leaves exit %i to the caller (a retry may help, or it is the runner’s own code)',
    (code) => {
      expect(classifyBootstrapExit({ runnerName: 'jr-7-1', code })).toBeUndefined();
    },
  );
});
