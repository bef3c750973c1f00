import { describe, expect, it } from 'vitest';
import {
  ChecksumProblemKind,
  parseReleaseChecksums,
  RunnerPlatform,
  runnerPackageName,
  toRunnerRelease,
} from '../../functions/domain/release-checksums.ts';

// The digests of 2.330.0 as runner/checksums.json pins them.
const LINUX_X64 = 'af5c33fa94f3cc33b8e97937939136a6b04197e6dadfcfb3b6e33ae1bf41e79a';
const LINUX_ARM64 = '9cb43527912086c7c8fb4119cb06409fcbcbd6f93a2d8507f30b07c495620f5c';
const OTHER = (c: string) => c.repeat(64);

/** The tail of an actions/runner release body, in the shape its release workflow writes. */
function releaseBody(version: string, digests: Partial<Record<string, string>>): string {
  const line = (platform: string, ext: string) =>
    digests[platform] === undefined
      ? ''
      : `- actions-runner-${platform}-${version}.${ext} <!-- BEGIN SHA ${platform} -->${digests[platform]}<!-- END SHA ${platform} -->\n`;
  return [
    '## What changed\n* Something by @someone in https://github.com/actions/runner/pull/1\n',
    '## Linux x64\n\n```bash\ncurl -O -L https://github.com/actions/runner/releases/download/v',
    `${version}/actions-runner-linux-x64-${version}.tar.gz\n\`\`\`\n\n`,
    '## SHA-256 Checksums\n\nThe SHA-256 checksums for the packages included in this build are shown below:\n\n',
    line('win-x64', 'zip'),
    line('win-arm64', 'zip'),
    line('osx-x64', 'tar.gz'),
    line('osx-arm64', 'tar.gz'),
    line('linux-x64', 'tar.gz'),
    line('linux-arm64', 'tar.gz'),
    line('linux-arm', 'tar.gz'),
  ].join('');
}

describe('parseReleaseChecksums', () => {
  it('reads every platform of a release body in the release workflow’s format', () => {
    const body = releaseBody('2.330.0', {
      'win-x64': OTHER('1'),
      'win-arm64': OTHER('2'),
      'osx-x64': OTHER('3'),
      'osx-arm64': OTHER('4'),
      'linux-x64': LINUX_X64,
      'linux-arm64': LINUX_ARM64,
      'linux-arm': OTHER('5'),
    });
    expect(parseReleaseChecksums(body)).toEqual({
      checksums: {
        'win-x64': OTHER('1'),
        'win-arm64': OTHER('2'),
        'osx-x64': OTHER('3'),
        'osx-arm64': OTHER('4'),
        'linux-x64': LINUX_X64,
        'linux-arm64': LINUX_ARM64,
        'linux-arm': OTHER('5'),
      },
      problems: [],
    });
  });

  it('leaves out a platform the notes do not list, without a problem', () => {
    const result = parseReleaseChecksums(releaseBody('2.330.0', { 'linux-x64': LINUX_X64 }));
    expect(result).toEqual({ checksums: { 'linux-x64': LINUX_X64 }, problems: [] });
  });

  it.each([
    [null, 'a null body'],
    [undefined, 'no body'],
    ['', 'an empty body'],
    ['Hand-written notes, no checksums.', 'notes without markers'],
  ])('gives no checksums and no problems for %s (%s)', (body, _what) => {
    expect(parseReleaseChecksums(body)).toEqual({ checksums: {}, problems: [] });
  });

  it.each([
    ['63 hex digits', LINUX_X64.slice(1)],
    ['65 hex digits', `${LINUX_X64}0`],
    ['a non-hex digit', `${LINUX_X64.slice(0, 63)}g`],
    ['the unreplaced placeholder', '<LINUX_X64_SHA>'],
    ['nothing between the markers', ''],
    ['two digests', `${LINUX_X64} ${LINUX_X64}`],
  ])('rejects a malformed digest (%s) and reports the platform, not the text', (_, digest) => {
    const result = parseReleaseChecksums(releaseBody('2.330.0', { 'linux-x64': digest, 'linux-arm64': LINUX_ARM64 }));
    expect(result.checksums).toEqual({ 'linux-arm64': LINUX_ARM64 });
    expect(result.problems).toEqual([{ platform: RunnerPlatform.linuxX64, kind: ChecksumProblemKind.malformed }]);
  });

  it('accepts upper-case hex and surrounding spaces, and stores the digest lower-case', () => {
    const body = `<!-- BEGIN SHA linux-x64 --> ${LINUX_X64.toUpperCase()} <!-- END SHA linux-x64 -->`;
    expect(parseReleaseChecksums(body).checksums).toEqual({ 'linux-x64': LINUX_X64 });
  });

  it('tolerates extra spaces inside the markers', () => {
    const body = `<!--BEGIN SHA  linux-x64-->${LINUX_X64}<!--   END SHA linux-x64   -->`;
    expect(parseReleaseChecksums(body).checksums).toEqual({ 'linux-x64': LINUX_X64 });
  });

  it('reports a BEGIN marker with no END marker as unterminated', () => {
    const body = `<!-- BEGIN SHA linux-x64 -->${LINUX_X64}\n<!-- BEGIN SHA linux-arm64 -->${LINUX_ARM64}<!-- END SHA linux-arm64 -->`;
    expect(parseReleaseChecksums(body)).toEqual({
      checksums: { 'linux-arm64': LINUX_ARM64 },
      problems: [{ platform: 'linux-x64', kind: 'unterminated' }],
    });
  });

  it('does not take the digest of another platform’s END marker', () => {
    const body = `<!-- BEGIN SHA linux-x64 -->${LINUX_X64}<!-- END SHA linux-arm64 -->`;
    expect(parseReleaseChecksums(body)).toEqual({
      checksums: {},
      problems: [{ platform: 'linux-x64', kind: 'unterminated' }],
    });
  });

  it('leaves out a platform listed twice with different digests, and keeps one listed twice alike', () => {
    const twice = (a: string, b: string) =>
      `<!-- BEGIN SHA linux-x64 -->${a}<!-- END SHA linux-x64 -->\n<!-- BEGIN SHA linux-x64 -->${b}<!-- END SHA linux-x64 -->`;
    expect(parseReleaseChecksums(twice(LINUX_X64, OTHER('a')))).toEqual({
      checksums: {},
      problems: [{ platform: 'linux-x64', kind: 'conflicting' }],
    });
    expect(parseReleaseChecksums(twice(LINUX_X64, LINUX_X64))).toEqual({
      checksums: { 'linux-x64': LINUX_X64 },
      problems: [],
    });
  });

  it('ignores a platform it does not know', () => {
    const body = `<!-- BEGIN SHA linux-riscv64 -->${OTHER('7')}<!-- END SHA linux-riscv64 -->`;
    expect(parseReleaseChecksums(body)).toEqual({ checksums: {}, problems: [] });
  });
});

describe('toRunnerRelease', () => {
  const github = {
    tag_name: 'v2.330.0',
    published_at: '2026-11-03T10:00:00Z',
    prerelease: false,
    draft: false,
    body: releaseBody('2.330.0', { 'linux-x64': LINUX_X64 }),
  };

  it('takes the version from the tag, the publish time in epoch ms and the checksums from the body', () => {
    expect(toRunnerRelease(github)).toEqual({
      version: '2.330.0',
      publishedAt: Date.UTC(2026, 10, 3, 10),
      prerelease: false,
      draft: false,
      checksums: { 'linux-x64': LINUX_X64 },
    });
  });

  it('keeps the prerelease and draft flags, and a draft’s missing publish date', () => {
    expect(toRunnerRelease({ ...github, prerelease: true })?.prerelease).toBe(true);
    const draft = toRunnerRelease({ ...github, draft: true, published_at: null });
    expect(draft).toMatchObject({ draft: true, publishedAt: undefined });
  });

  it('carries the checksum problems of the body', () => {
    const release = toRunnerRelease({ ...github, body: releaseBody('2.330.0', { 'linux-x64': 'nope' }) });
    expect(release?.checksumProblems).toEqual([{ platform: 'linux-x64', kind: 'malformed' }]);
  });

  it.each(['latest', 'v2.330', 'v2.330.0-beta.1', 'runner-2.330.0'])('ignores the release tagged %s', (tag) => {
    expect(toRunnerRelease({ ...github, tag_name: tag })).toBeUndefined();
  });

  it('ignores a release whose publish date cannot be read', () => {
    expect(toRunnerRelease({ ...github, published_at: 'yesterday' })).toBeUndefined();
  });
});

describe('runnerPackageName', () => {
  it('names the tarball or zip the release publishes', () => {
    expect(runnerPackageName('linux-arm64', '2.330.0')).toBe('actions-runner-linux-arm64-2.330.0.tar.gz');
    expect(runnerPackageName('win-x64', '2.330.0')).toBe('actions-runner-win-x64-2.330.0.zip');
  });
});
