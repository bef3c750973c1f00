import { describe, expect, it } from 'vitest';
import {
  failureAdvice,
  failureCheckRun,
  jobDisplayName,
  jobPageUrl,
  UNCLASSIFIED_ADVICE,
} from '../../functions/domain/failure-advice.ts';
import { FailureClass } from '../../functions/domain/failure-class.ts';
import { requestBodyErrors } from '../support/openapi.ts';

const failedJob = {
  jobId: 29_679_449_001,
  runId: 9_001_000,
  owner: 'octo-org',
  repo: 'hello-world',
  headSha: 'f00dbabe'.repeat(5),
  jobName: 'build',
  workflowName: 'CI',
  failureClass: FailureClass.metadataMissing,
  reason: 'metadata-missing: attempts spent (3 of 3)',
  attempt: 3,
};

describe('failureAdvice', () => {
  it('gives every failure class its own title and advice', () => {
    const classes = Object.values(FailureClass);
    const advice = classes.map((c) => failureAdvice(c));
    for (const a of advice) {
      expect(a.title.length).toBeGreaterThan(3);
      expect(a.advice.length).toBeGreaterThan(30);
    }
    expect(new Set(advice.map((a) => a.title)).size).toBe(classes.length);
    expect(new Set(advice.map((a) => a.advice)).size).toBe(classes.length);
  });

  it('points a metadata failure at the baseline command', () => {
    expect(failureAdvice(FailureClass.metadataMissing).advice).toContain('jit-runners baseline ensure');
  });

  it('says a re-run will not help for configuration and checksum failures', () => {
    expect(failureAdvice(FailureClass.config).advice).toMatch(/re-run fails the same way/i);
    expect(failureAdvice(FailureClass.checksumMismatch).advice).toMatch(/re-run fails the same way/i);
  });

  it('has generic advice for a job without a class', () => {
    expect(failureAdvice(undefined)).toBe(UNCLASSIFIED_ADVICE);
  });
});

describe('failureCheckRun', () => {
  it('builds a completed, failed check run on the job commit naming the job, the class, the reason and the advice', () => {
    const body = failureCheckRun(failedJob, 'https://github.com/', Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    const link = 'https://github.com/octo-org/hello-world/actions/runs/9001000/job/29679449001';
    expect(body).toEqual({
      name: 'jit-runners: build',
      head_sha: failedJob.headSha,
      status: 'completed',
      conclusion: 'failure',
      completed_at: '2026-01-02T03:04:05Z',
      details_url: link,
      external_id: '29679449001',
      output: {
        title: 'No runner for CI / build: runner metadata missing',
        summary: expect.stringContaining(`[CI / build](${link})`),
        text: expect.stringContaining('after 3 attempts'),
      },
    });
    expect(body?.output.summary).toContain('**Failure class:** `metadata-missing`');
    expect(body?.output.summary).toContain('**Reason:** metadata-missing: attempts spent (3 of 3)');
    expect(body?.output.summary).toContain(failureAdvice(FailureClass.metadataMissing).advice);
    expect(body?.output.text).toContain('jit-runners job show 29679449001');
  });

  it('is a body the OpenAPI description of POST /repos/{owner}/{repo}/check-runs allows', () => {
    const { failureClass: _, ...unclassified } = failedJob;
    const jobs = [...Object.values(FailureClass).map((failureClass) => ({ ...failedJob, failureClass })), unclassified];
    for (const job of jobs) {
      const body = failureCheckRun(job, 'https://github.com', 0);
      expect(requestBodyErrors('POST', '/repos/{owner}/{repo}/check-runs', body)).toEqual([]);
    }
  });

  it('is undefined for a job recorded without its commit', () => {
    const { headSha: _, ...old } = failedJob;
    expect(failureCheckRun(old, 'https://github.com', 0)).toBeUndefined();
  });

  it('names what is known of a job without names, and cuts a long name', () => {
    const { jobName: _j, workflowName: _w, ...bare } = failedJob;
    expect(jobDisplayName(bare)).toBe('job 29679449001');
    expect(failureCheckRun(bare, 'https://github.com', 0)?.name).toBe('jit-runners: job 29679449001');
    const long = failureCheckRun({ ...failedJob, jobName: 'x'.repeat(500) }, 'https://github.com', 0);
    expect(long?.name).toHaveLength(200);
    expect(long?.name.endsWith('…')).toBe(true);
  });

  it('links the job page under a GHES server URL', () => {
    expect(jobPageUrl('https://ghes.example.com', failedJob)).toBe(
      'https://ghes.example.com/octo-org/hello-world/actions/runs/9001000/job/29679449001',
    );
  });
});
