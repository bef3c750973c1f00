import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RUNNER_VERSION } from '../../functions/domain/runner-version.ts';

const BOOTSTRAP = resolve('runner/bootstrap.sh');
const VERSION = '2.330.0';
const TARBALL = `actions-runner-linux-x64-${VERSION}.tar.gz`;
const JIT_CONFIG = 'eyJTRUNSRVQtSklULUNPTkZJRyI6dHJ1ZX0=';
const PARAMETER = '/jr/jit/jr-42-1';

let root: string;
let server: Server;
let baseUrl: string;
let tarballSha: string;
let tarballBytes: Buffer;
let requests: string[] = [];

interface Run {
  code: number;
  out: string;
}

function run(env: Record<string, string>): Promise<Run> {
  return new Promise((done) => {
    execFile(
      'bash',
      [BOOTSTRAP],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, TMPDIR: root, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

/** A fake actions-runner: run.sh/config.sh record their arguments and environment. */
function buildFakeTarball(dir: string): Promise<Buffer> {
  const src = join(dir, 'tarball-src');
  mkdirSync(src, { recursive: true });
  const recorder = (name: string) =>
    `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > "$RECORD_DIR/${name}.args"\nenv > "$RECORD_DIR/${name}.env"\n`;
  writeFileSync(join(src, 'run.sh'), recorder('run'));
  writeFileSync(join(src, 'config.sh'), recorder('config'));
  chmodSync(join(src, 'run.sh'), 0o755);
  chmodSync(join(src, 'config.sh'), 0o755);
  const out = join(dir, TARBALL);
  return new Promise<Buffer>((done, fail) =>
    execFile('tar', ['-czf', out, '-C', src, '.'], (error) => (error ? fail(error) : done(readFileSync(out)))),
  );
}

/** A fake `aws` CLI: parameters are files under $FAKE_SSM, named with / replaced by _. */
const FAKE_AWS = `#!/usr/bin/env bash
set -euo pipefail
[[ "$1" == ssm ]] || exit 64
cmd=$2; shift 2
name=''
while [[ $# -gt 0 ]]; do
  if [[ "$1" == --name ]]; then name=$2; shift; fi
  shift
done
file="$FAKE_SSM/\${name//\\//_}"
echo "$cmd $name" >> "$FAKE_SSM/calls.log"
case "$cmd" in
  get-parameter) [[ -f "$file" ]] || { echo "ParameterNotFound" >&2; exit 254; }; cat "$file" ;;
  delete-parameter) rm -f "$file" ;;
  *) exit 64 ;;
esac
`;

let recordDir: string;
let ssmDir: string;
let checksums: string;

function putParameter(name: string, value: string) {
  writeFileSync(join(ssmDir, name.replaceAll('/', '_')), value);
}

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    JR_MODE: 'jit',
    JR_PARAMETER: PARAMETER,
    JR_RUNNER_NAME: 'jr-42-1',
    JR_RUNNER_VERSION: VERSION,
    JR_ARCH: 'x64',
    JR_PLATFORM: 'other',
    JR_DOWNLOAD_BASE_URL: baseUrl,
    JR_CHECKSUMS_FILE: checksums,
    JR_AWS: join(root, 'aws'),
    JR_RUNNER_DIR: join(root, `runner-${Math.random().toString(36).slice(2)}`),
    RECORD_DIR: recordDir,
    FAKE_SSM: ssmDir,
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
    ...extra,
  };
}

function writeChecksums(entries: Record<string, string>) {
  writeFileSync(checksums, `${JSON.stringify(entries, null, 2)}\n`);
}

describe('runner/bootstrap.sh', () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'jr-bootstrap-'));
    tarballBytes = await buildFakeTarball(root);
    tarballSha = createHash('sha256').update(tarballBytes).digest('hex');
    writeFileSync(join(root, 'aws'), FAKE_AWS);
    chmodSync(join(root, 'aws'), 0o755);
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === `/v${VERSION}/${TARBALL}`) {
        res.writeHead(200, { 'content-type': 'application/gzip' }).end(tarballBytes);
      } else {
        res.writeHead(404).end('not found');
      }
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((done) => server.close(done));
    rmSync(root, { recursive: true, force: true });
  });

  beforeEach(() => {
    requests = [];
    recordDir = mkdtempSync(join(root, 'record-'));
    ssmDir = mkdtempSync(join(root, 'ssm-'));
    checksums = join(root, `checksums-${Math.random().toString(36).slice(2)}.json`);
    writeChecksums({ [TARBALL]: tarballSha });
  });

  it('downloads the pinned tarball, verifies it and runs the runner with the JIT config', async () => {
    putParameter(PARAMETER, JIT_CONFIG);
    const result = await run(baseEnv());
    expect(result.code, result.out).toBe(0);
    expect(requests).toEqual([`/v${VERSION}/${TARBALL}`]);
    expect(readFileSync(join(recordDir, 'run.args'), 'utf8')).toBe(`--jitconfig\n${JIT_CONFIG}\n`);
    expect(result.out).toContain(`verified ${TARBALL}`);
  });

  it('deletes the hand-off parameter after reading it', async () => {
    putParameter(PARAMETER, JIT_CONFIG);
    await run(baseEnv());
    expect(readFileSync(join(ssmDir, 'calls.log'), 'utf8')).toBe(
      `get-parameter ${PARAMETER}\ndelete-parameter ${PARAMETER}\n`,
    );
    expect(existsSync(join(ssmDir, PARAMETER.replaceAll('/', '_')))).toBe(false);
  });

  it('never prints the JIT config and gives the runner no AWS credentials', async () => {
    putParameter(PARAMETER, JIT_CONFIG);
    const result = await run(baseEnv());
    expect(result.code).toBe(0);
    expect(result.out).not.toContain(JIT_CONFIG);
    const runnerEnv = readFileSync(join(recordDir, 'run.env'), 'utf8');
    expect(runnerEnv).not.toContain('AKIAFAKEFAKEFAKE');
    expect(runnerEnv).not.toContain('fake-secret-access-key');
  });

  it('refuses a tarball whose SHA-256 does not match, before reading the JIT config', async () => {
    putParameter(PARAMETER, JIT_CONFIG);
    writeChecksums({ [TARBALL]: 'a'.repeat(64) });
    const result = await run(baseEnv());
    expect(result.code).toBe(4);
    expect(result.out).toMatch(/SHA-256 mismatch .* refusing/);
    expect(existsSync(join(recordDir, 'run.args'))).toBe(false);
    expect(existsSync(join(ssmDir, 'calls.log'))).toBe(false);
  });

  it('refuses a version that has no entry in the checksum table, without downloading', async () => {
    putParameter(PARAMETER, JIT_CONFIG);
    writeChecksums({ [`actions-runner-linux-arm64-${VERSION}.tar.gz`]: tarballSha });
    const result = await run(baseEnv());
    expect(result.code).toBe(3);
    expect(result.out).toContain(`no SHA-256 for ${TARBALL}`);
    expect(requests).toEqual([]);
    expect(existsSync(join(recordDir, 'run.args'))).toBe(false);
  });

  it('fails clearly when the JIT config hand-off is missing', async () => {
    const result = await run(baseEnv());
    expect(result.code).toBe(5);
    expect(result.out).toContain(`cannot read the JIT config from SSM parameter ${PARAMETER}`);
    expect(existsSync(join(recordDir, 'run.args'))).toBe(false);
  });

  it('fails clearly when no parameter name is given', async () => {
    const result = await run(baseEnv({ JR_PARAMETER: '' }));
    expect(result.code).toBe(2);
    expect(result.out).toContain('JR_PARAMETER is missing');
  });

  it('rejects an unknown mode and a version that is not exact', async () => {
    expect((await run(baseEnv({ JR_MODE: 'both' }))).code).toBe(2);
    const loose = await run(baseEnv({ JR_RUNNER_VERSION: 'latest' }));
    expect(loose.code).toBe(2);
    expect(loose.out).toContain('JR_RUNNER_VERSION must be an exact version');
  });

  it('fails with its own exit code when the download fails', async () => {
    putParameter(PARAMETER, JIT_CONFIG);
    const result = await run(baseEnv({ JR_DOWNLOAD_BASE_URL: `${baseUrl}/nowhere` }));
    expect(result.code).toBe(6);
  });

  it('registers a regular runner with updates disabled and no default labels, then runs it', async () => {
    putParameter('/jr/jit/jr-baseline-x', 'REG-TOKEN-SECRET');
    const result = await run(
      baseEnv({
        JR_MODE: 'regular',
        JR_PARAMETER: '/jr/jit/jr-baseline-x',
        JR_RUNNER_NAME: 'jr-baseline-x',
        JR_URL: 'https://github.com/octo/repo',
        JR_LABELS: 'jit-runners-baseline-x',
      }),
    );
    expect(result.code, result.out).toBe(0);
    expect(readFileSync(join(recordDir, 'config.args'), 'utf8').trim().split('\n')).toEqual([
      '--unattended',
      '--url',
      'https://github.com/octo/repo',
      '--token',
      'REG-TOKEN-SECRET',
      '--name',
      'jr-baseline-x',
      '--labels',
      'jit-runners-baseline-x',
      '--no-default-labels',
      '--disableupdate',
      '--work',
      '_work',
    ]);
    expect(readFileSync(join(recordDir, 'run.args'), 'utf8')).toBe('\n'); // run.sh ran, with no arguments
    expect(result.out).not.toContain('REG-TOKEN-SECRET');
  });

  it('is shellcheck-clean', async () => {
    const result = await new Promise<Run>((done) =>
      execFile('shellcheck', ['--severity=style', BOOTSTRAP], (error, stdout, stderr) =>
        done({
          code: error ? (typeof error.code === 'number' ? error.code : 127) : 0,
          out: `${stdout}${stderr}${error && error.code === 'ENOENT' ? 'shellcheck is not installed: apt-get install -y shellcheck' : ''}`,
        }),
      ),
    );
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  });

  it('ships a checksum for both architectures of the default runner version', () => {
    const table = JSON.parse(readFileSync('runner/checksums.json', 'utf8')) as Record<string, string>;
    for (const arch of ['x64', 'arm64']) {
      expect(table[`actions-runner-linux-${arch}-${DEFAULT_RUNNER_VERSION}.tar.gz`]).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});
