import { describe, expect, it } from 'vitest';
import { FailureClass } from '../../functions/domain/failure-class.ts';
import {
  type ConfirmationInput,
  confirmationNeeds,
  type JobFact,
  judgeSignal,
  type RunnerFact,
} from '../../functions/domain/signal-confirmation.ts';

const busy: RunnerFact = { kind: 'registered', status: 'online', busy: true };
const idle: RunnerFact = { kind: 'registered', status: 'online', busy: false };
const offline: RunnerFact = { kind: 'registered', status: 'offline', busy: false };
const gone: RunnerFact = { kind: 'gone' };
const http = (status: number, breakerOpen = false): RunnerFact => ({ kind: 'unanswered', status, breakerOpen });
const queued: JobFact = { kind: 'found', status: 'queued', runnerName: null };
const running: JobFact = { kind: 'found', status: 'in_progress', runnerName: 'jr-1-1' };

const line = (failureClass: FailureClass, runner?: RunnerFact, job?: JobFact): ConfirmationInput => ({
  signal: 'log',
  failureClass,
  runnerName: 'jr-1-1',
  runner,
  job,
});
const verdict = (input: ConfirmationInput) => judgeSignal(input).verdict;

const LOG_CLASSES = [
  FailureClass.metadataMissing,
  FailureClass.breakerOpen,
  FailureClass.versionDeprecated,
  FailureClass.registrationGone,
  FailureClass.config,
];

describe('confirmationNeeds', () => {
  it('asks GitHub about the runner and the job for a log line, the platform for a state event, nobody for a local exit', () => {
    expect(confirmationNeeds('log')).toEqual({ runner: true, job: true, launch: false });
    expect(confirmationNeeds('state')).toEqual({ runner: false, job: false, launch: true });
    expect(confirmationNeeds('exit')).toEqual({ runner: false, job: false, launch: false });
  });
});

describe('judgeSignal', () => {
  describe('log lines', () => {
    it('refutes every class when GitHub shows the runner busy running a job', () => {
      for (const c of LOG_CLASSES) expect(verdict(line(c, busy))).toBe('refuted');
    });

    it('refutes every class when GitHub shows the job in progress, completed, waiting or gone', () => {
      const jobs: JobFact[] = [
        running,
        { kind: 'found', status: 'in_progress', runnerName: 'someone-else' },
        { kind: 'found', status: 'completed', runnerName: 'jr-1-1' },
        { kind: 'found', status: 'waiting', runnerName: null },
        { kind: 'gone' },
      ];
      for (const c of LOG_CLASSES) for (const job of jobs) expect(verdict(line(c, idle, job))).toBe('refuted');
    });

    it('confirms a metadata, breaker, version or config line for a registered idle runner whose job GitHub still shows queued', () => {
      for (const c of LOG_CLASSES.filter((x) => x !== FailureClass.registrationGone)) {
        expect(verdict(line(c, idle, queued))).toBe('confirmed');
        expect(verdict(line(c, offline, queued))).toBe('confirmed');
      }
    });

    it("confirms a metadata-missing line by the failure's own face: 500 or 503 for the runner lookup", () => {
      expect(verdict(line(FailureClass.metadataMissing, http(500), queued))).toBe('confirmed');
      expect(verdict(line(FailureClass.metadataMissing, http(503), queued))).toBe('confirmed');
      expect(verdict(line(FailureClass.metadataMissing, http(429), queued))).toBe('undetermined');
      expect(verdict(line(FailureClass.metadataMissing, http(0), queued))).toBe('undetermined');
    });

    it('confirms a breaker-open line by a `breaker open` answer, and no other line by it', () => {
      expect(verdict(line(FailureClass.breakerOpen, http(503, true), queued))).toBe('confirmed');
      expect(verdict(line(FailureClass.breakerOpen, http(503), queued))).toBe('undetermined');
      expect(verdict(line(FailureClass.versionDeprecated, http(503, true), queued))).toBe('undetermined');
    });

    it('confirms a registration-gone line only when GitHub does not know the runner', () => {
      expect(verdict(line(FailureClass.registrationGone, gone, queued))).toBe('confirmed');
      expect(verdict(line(FailureClass.registrationGone, idle, queued))).toBe('refuted');
      expect(verdict(line(FailureClass.registrationGone, offline, queued))).toBe('refuted');
      expect(verdict(line(FailureClass.registrationGone, http(500), queued))).toBe('undetermined');
    });

    it('refutes a line that needs a registered runner when GitHub does not know it', () => {
      for (const c of LOG_CLASSES.filter((x) => x !== FailureClass.registrationGone)) {
        expect(verdict(line(c, gone, queued))).toBe('refuted');
      }
    });

    it('stays undetermined while the job could not be looked up or was not asked', () => {
      expect(verdict(line(FailureClass.metadataMissing, idle, { kind: 'unanswered', status: 502 }))).toBe(
        'undetermined',
      );
      expect(verdict(line(FailureClass.metadataMissing, idle))).toBe('undetermined');
      expect(verdict(line(FailureClass.metadataMissing))).toBe('undetermined');
    });

    it('says why in names and statuses only', () => {
      expect(judgeSignal(line(FailureClass.metadataMissing, busy)).reason).toBe(
        'GitHub shows runner jr-1-1 busy running a job',
      );
      expect(judgeSignal(line(FailureClass.metadataMissing, idle, running)).reason).toBe(
        'GitHub shows the job in_progress on runner jr-1-1, not waiting for a runner',
      );
      expect(judgeSignal(line(FailureClass.metadataMissing, http(500), queued)).reason).toBe(
        'the lookup of runner jr-1-1 answered 500 and GitHub shows the job still queued',
      );
    });
  });

  describe('platform state events', () => {
    const state = (launch?: ConfirmationInput['launch']): ConfirmationInput => ({
      signal: 'state',
      failureClass: FailureClass.transient,
      runnerName: 'jr-1-1',
      launch,
    });

    it('confirms an end only when the platform no longer lists the build or instance', () => {
      expect(verdict(state({ kind: 'ended' }))).toBe('confirmed');
      expect(verdict(state({ kind: 'active' }))).toBe('refuted');
      expect(verdict(state({ kind: 'unanswered' }))).toBe('undetermined');
      expect(verdict(state())).toBe('undetermined');
    });
  });

  describe('local exits', () => {
    it('are confirmed: the launcher saw its own process end', () => {
      expect(verdict({ signal: 'exit', failureClass: FailureClass.transient, runnerName: 'jr-1-1' })).toBe('confirmed');
    });
  });
});
