import { describe, expect, it } from 'vitest';
import { isServed, normaliseLabels, parseLabelList } from '../../functions/domain/labels.ts';

const fleet = ['self-hosted', 'linux', 'x64'];

describe('isServed', () => {
  it.each([
    { job: ['self-hosted', 'linux', 'x64'], served: true, why: 'every label is in the fleet' },
    { job: ['self-hosted'], served: true, why: 'a subset is enough' },
    { job: ['Self-Hosted', 'LINUX'], served: true, why: 'matching is case-insensitive' },
    { job: [' self-hosted '], served: true, why: 'surrounding space is ignored' },
    { job: ['ubuntu-latest'], served: false, why: 'a GitHub-hosted label is not ours' },
    { job: ['self-hosted', 'gpu'], served: false, why: 'one label outside the fleet is enough to refuse' },
    { job: [], served: false, why: 'a job asking for no label is never ours' },
    { job: ['', '  '], served: false, why: 'blank labels count as none' },
  ])('answers $served when $why', ({ job, served }) => {
    expect(isServed(job, fleet)).toBe(served);
  });
});

describe('normaliseLabels', () => {
  it('lower-cases, trims and removes duplicates while keeping order', () => {
    expect(normaliseLabels(['X64', 'linux', 'x64 ', ''])).toEqual(['x64', 'linux']);
  });
});

describe('parseLabelList', () => {
  it('splits a comma list such as RUNNER_LABELS', () => {
    expect(parseLabelList('self-hosted, Linux ,x64,,')).toEqual(['self-hosted', 'linux', 'x64']);
  });
});
