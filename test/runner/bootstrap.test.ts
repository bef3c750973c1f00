import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BootstrapExit } from '../../functions/domain/bootstrap-exit.ts';
import { classifyLogLine } from '../../functions/domain/classify-failure.ts';
import { DEFAULT_RUNNER_VERSION } from '../../functions/domain/runner-version.ts';
import { warmReadyName } from '../../functions/domain/warm-ready-line.ts';

const BOOTSTRAP = resolve('runner/bootstrap.sh');
const VERSION = '2.330.0';
const TARBALL = `actions-runner-linux-x64-${VERSION}.tar.gz`;
const PARAMETER = '/jr/jit/jr-42-1-0123456789abcdef0123456789abcdef';

let root: string;
let server: Server;
let baseUrl: string;
let tarballSha: string;
let tarballBytes: Buffer;
let requests: string[] = [];
/** Instance tags the fake IMDS serves. */
let imdsTags: Record<string, string> = {};
/** Shims that record every argv the bootstrap (and what it starts) runs through PATH. */
let spyDir: string;

interface Run {
  code: number;
  out: string;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/**
 * A JIT config as generate-jitconfig returns it: base64 of a JSON object mapping file names in the
 * runner root to base64 file contents. Every run gets fresh secrets, so a match can only be a leak.
 */
function jitConfig(runnerFile: string = runnerSettings()) {
  const accessToken = `ACCESS-${randomBytes(12).toString('hex')}`;
  const rsa = `RSA-${randomBytes(12).toString('hex')}`;
  const files: Record<string, string> = {
    '.runner': runnerFile,
    '.credentials': JSON.stringify({
      Scheme: 'OAuthAccessToken',
      Data: { ClientId: 'c1', AuthorizationUrl: 'https://pipelines.example/auth', accessToken },
    }),
    '.credentials_rsaparams': JSON.stringify({ d: rsa, modulus: 'AQAB' }),
  };
  const encoded = b64(JSON.stringify(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, b64(v)]))));
  return { encoded, files, accessToken, rsa };
}

function runnerSettings(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    AgentId: 77,
    AgentName: 'jr-42-1',
    PoolId: 1,
    PoolName: 'Default',
    ServerUrl: 'https://pipelines.actions.githubusercontent.com/abc',
    WorkFolder: '_work',
    Ephemeral: true,
    UseV2Flow: true,
    ServerUrlV2: 'https://broker.actions.githubusercontent.com/',
    ...extra,
  });
}

function run(env: Record<string, string>): Promise<Run> {
  return new Promise((done) => {
    execFile('bash', [BOOTSTRAP], { env: processEnv(env), timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, out: `${stdout}${stderr}` });
    });
  });
}

function processEnv(env: Record<string, string>): Record<string, string> {
  // The shims are the whole PATH: a command the bootstrap runs unrecorded fails the test instead of slipping by.
  return { PATH: spyDir, HOME: root, TMPDIR: root, ...env };
}

/**
 * A fake actions-runner. run.sh and config.sh record their arguments, environment and pid, and what the
 * runner directory holds; run.sh starts a "step" (a child with the runner's environment, as the
 * listener's worker starts workflow steps) and, with FAKE_PAUSE set, both wait for $RECORD_DIR/resume so
 * the test can read /proc while they run.
 */
function buildFakeTarball(dir: string): Promise<Buffer> {
  const src = join(dir, 'tarball-src');
  mkdirSync(src, { recursive: true });
  const record = (name: string) => `printf '%s\\n' "$@" > "$RECORD_DIR/${name}.args"
env > "$RECORD_DIR/${name}.env"
echo $$ > "$RECORD_DIR/${name}.pid"
echo $PPID > "$RECORD_DIR/${name}.ppid"
`;
  writeFileSync(
    join(src, 'run.sh'),
    `#!/usr/bin/env bash
${record('run')}mkdir -p "$RECORD_DIR/files"
for f in .runner .credentials .credentials_rsaparams; do
  if [[ -f "$f" ]]; then cp "$f" "$RECORD_DIR/files/$f"; stat -c %a "$f" > "$RECORD_DIR/files/$f.mode"; fi
done
bash -c 'env > "$RECORD_DIR/step.env"; echo $$ > "$RECORD_DIR/step.pid"
  if [[ -n "\${FAKE_PAUSE:-}" ]]; then touch "$RECORD_DIR/paused"; while [[ ! -e "$RECORD_DIR/resume" ]]; do sleep 0.05; done; fi' &
wait $!
`,
  );
  writeFileSync(join(src, 'config.sh'), `#!/usr/bin/env bash\n${record('config')}`);
  chmodSync(join(src, 'run.sh'), 0o755);
  chmodSync(join(src, 'config.sh'), 0o755);
  const out = join(dir, TARBALL);
  return new Promise<Buffer>((done, fail) =>
    execFile('tar', ['-czf', out, '-C', src, '.'], (error) => (error ? fail(error) : done(readFileSync(out)))),
  );
}

/**
 * A fake `aws` CLI: parameters are files under $FAKE_SSM, named with / replaced by _. The first
 * $FAKE_MISSING_TRIES reads answer as AWS does before the hand-off is written ($FAKE_MISSING_ERROR,
 * default ParameterNotFound); every call is logged. `s3 cp s3://B/K DEST` copies $FAKE_S3/B/K (each call
 * logged to $FAKE_S3/calls.log) and fails as the CLI does (404, exit 1) when it is absent.
 */
const FAKE_AWS = `#!/usr/bin/env bash
set -euo pipefail
if [[ "$1" == s3 && "$2" == cp ]]; then
  args=("\${@:3}")
  dest=\${args[-1]}; source=\${args[-2]}
  echo "s3 cp \${args[*]}" >> "$FAKE_S3/calls.log"
  object="$FAKE_S3/\${source#s3://}"
  if [[ ! -f "$object" ]]; then
    echo "fatal error: An error occurred (404) when calling the HeadObject operation: Key \\"\${source#s3://*/}\\" does not exist" >&2
    exit 1
  fi
  cp "$object" "$dest"
  exit 0
fi
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
  get-parameter)
    tries=$(grep -c '^get-parameter ' "$FAKE_SSM/calls.log")
    if (( tries <= \${FAKE_MISSING_TRIES:-0} )) || [[ ! -f "$file" ]]; then
      echo "" >&2
      echo "An error occurred (\${FAKE_MISSING_ERROR:-ParameterNotFound}) when calling the GetParameter operation: " >&2
      exit 254
    fi
    cat "$file"; echo ;;
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
    JR_HANDOFF_POLL_SECONDS: '0.1',
    JR_RUNNER_DIR: join(root, `runner-${Math.random().toString(36).slice(2)}`),
    RECORD_DIR: recordDir,
    FAKE_SSM: ssmDir,
    SPY_LOG: join(recordDir, 'argv.log'),
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
    ...extra,
  };
}

function writeChecksums(entries: Record<string, string>) {
  writeFileSync(checksums, `${JSON.stringify(entries, null, 2)}\n`);
}

/** Every argv the PATH shims saw (NUL-separated arguments, one record per line). */
function spiedArgv(): string {
  const log = join(recordDir, 'argv.log');
  return existsSync(log) ? readFileSync(log, 'utf8').replaceAll('\0', ' ') : '';
}

function readProc(pid: number, file: 'cmdline' | 'environ'): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`).toString('utf8').replaceAll('\0', '\n');
  } catch {
    return ''; // gone, or not ours to read
  }
}

/** The command lines of every process on the machine right now. */
function allCommandLines(): { pid: number; cmdline: string }[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => ({ pid: Number(name), cmdline: readProc(Number(name), 'cmdline') }));
}

async function waitFor(path: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 400 && !existsSync(path); i++) {
    if (child.exitCode !== null) throw new Error(`bootstrap exited with ${child.exitCode} before ${path}`);
    await new Promise((done) => setTimeout(done, 50));
  }
  if (!existsSync(path)) throw new Error(`${path} never appeared`);
}

/**
 * Runs the bootstrap with the fake runner paused in its "step", takes `sample()` of the running
 * processes, then lets it finish.
 */
async function runPaused<T>(env: Record<string, string>, sample: () => T): Promise<{ result: Run; sampled: T }> {
  const child = spawn('bash', [BOOTSTRAP], { env: processEnv({ ...env, FAKE_PAUSE: '1' }) });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number>((done) => child.once('exit', (code) => done(code ?? 1)));
  try {
    await waitFor(join(recordDir, 'paused'), child);
    const sampled = sample();
    writeFileSync(join(recordDir, 'resume'), '');
    const code = await exited;
    return { result: { code, out }, sampled };
  } finally {
    // Whatever happened, the paused fake runner and step are let go: killing bash alone would leave them
    // waiting for the resume file (two such loops once spun for an hour after a failed sample).
    writeFileSync(join(recordDir, 'resume'), '');
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

const pidOf = (name: string) => Number(readFileSync(join(recordDir, `${name}.pid`), 'utf8').trim());

describe('runner/bootstrap.sh', () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'jr-bootstrap-'));
    tarballBytes = await buildFakeTarball(root);
    tarballSha = createHash('sha256').update(tarballBytes).digest('hex');
    writeFileSync(join(root, 'aws'), FAKE_AWS);
    chmodSync(join(root, 'aws'), 0o755);
    spyDir = join(root, 'spy');
    mkdirSync(spyDir);
    // Every external command the bootstrap and the fake runner use, wrapped: the shim appends its
    // argv to $SPY_LOG and executes the real command.
    for (const name of [
      'base64',
      'grep',
      'sed',
      'head',
      'cut',
      'sha256sum',
      'tar',
      'gzip',
      'touch',
      'curl',
      'mktemp',
      'mkdir',
      'rm',
      'chmod',
      'cp',
      'stat',
      'dirname',
      'tee',
      'sleep',
      'id',
      'uname',
      'cat',
      'env',
      'bash',
    ]) {
      const real = execFileSync('bash', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      writeFileSync(
        join(spyDir, name),
        `#!${execFileSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).trim()}\n[[ -n "\${SPY_LOG:-}" ]] && printf '%s\\0' ${name} "$@" >> "$SPY_LOG" && printf '\\n' >> "$SPY_LOG"\nexec ${real} "$@"\n`,
      );
      chmodSync(join(spyDir, name), 0o755);
    }
    // What the instance would do, recorded instead: shut down, change routes.
    for (const name of ['shutdown', 'ip']) {
      writeFileSync(
        join(spyDir, name),
        `#!/usr/bin/env bash\nprintf '%s\\0' ${name} "$@" >> "$SPY_LOG"; printf '\\n' >> "$SPY_LOG"\n`,
      );
      chmodSync(join(spyDir, name), 0o755);
    }
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      // IMDSv2: a token from PUT, then instance tags with that token.
      if (req.url === '/imds/latest/api/token' && req.method === 'PUT') {
        res.writeHead(200).end('imds-token');
        return;
      }
      const tag = /^\/imds\/latest\/meta-data\/tags\/instance\/(\w+)$/.exec(req.url ?? '')?.[1];
      if (tag !== undefined) {
        const value = imdsTags[tag];
        if (req.headers['x-aws-ec2-metadata-token'] !== 'imds-token') res.writeHead(401).end();
        else if (value === undefined) res.writeHead(404).end();
        else res.writeHead(200).end(value);
        return;
      }
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
    imdsTags = {};
    recordDir = mkdtempSync(join(root, 'record-'));
    ssmDir = mkdtempSync(join(root, 'ssm-'));
    checksums = join(root, `checksums-${Math.random().toString(36).slice(2)}.json`);
    writeChecksums({ [TARBALL]: tarballSha });
  });

  describe('JIT mode', () => {
    it('downloads the pinned tarball, verifies it, writes the JIT config files and starts run.sh with no arguments', async () => {
      const jit = jitConfig();
      putParameter(PARAMETER, jit.encoded);
      const result = await run(baseEnv());
      expect(result.code, result.out).toBe(0);
      expect(requests).toEqual([`/v${VERSION}/${TARBALL}`]);
      expect(result.out).toContain(`verified ${TARBALL}`);
      // A cold runner is never a warm one that is ready.
      expect(result.out.split('\n').filter((line) => warmReadyName(line) !== undefined)).toEqual([]);
      expect(readFileSync(join(recordDir, 'run.args'), 'utf8')).toBe('\n');
      const files = join(recordDir, 'files');
      expect(readFileSync(join(files, '.credentials'), 'utf8')).toBe(jit.files['.credentials']);
      expect(readFileSync(join(files, '.credentials_rsaparams'), 'utf8')).toBe(jit.files['.credentials_rsaparams']);
      for (const f of ['.runner', '.credentials', '.credentials_rsaparams']) {
        expect(readFileSync(join(files, `${f}.mode`), 'utf8').trim(), f).toBe('600');
      }
    });

    it('keeps .runner as the JIT config has it, with DisableUpdate added', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      const result = await run(baseEnv());
      expect(result.code, result.out).toBe(0);
      const settings = JSON.parse(readFileSync(join(recordDir, 'files', '.runner'), 'utf8'));
      expect(settings).toEqual({ ...JSON.parse(runnerSettings()), DisableUpdate: true });
      expect(result.out).toContain('self-update disabled in .runner');
    });

    it.each([
      ['sets DisableUpdate that the JIT config turned off', runnerSettings({ DisableUpdate: false })],
      ['sets disableUpdate whatever its case', runnerSettings({ disableUpdate: false })],
      ['keeps a byte-order mark in front of the JSON', `\uFEFF${runnerSettings()}`],
      ['handles an empty settings object', '{}'],
    ])('%s', async (_name, runnerFile) => {
      putParameter(PARAMETER, jitConfig(runnerFile).encoded);
      const result = await run(baseEnv());
      expect(result.code, result.out).toBe(0);
      const text = readFileSync(join(recordDir, 'files', '.runner'), 'utf8');
      expect(text.startsWith('\uFEFF')).toBe(runnerFile.startsWith('\uFEFF'));
      const settings = JSON.parse(text.replace(/^\uFEFF/, '')) as Record<string, unknown>;
      const flags = Object.entries(settings).filter(([k]) => k.toLowerCase() === 'disableupdate');
      expect(flags.map(([, v]) => v)).toEqual([true]);
    });

    it("reads a JIT config whose JSON escapes '/' in the base64 values", async () => {
      const jit = jitConfig();
      const map = JSON.parse(Buffer.from(jit.encoded, 'base64').toString('utf8')) as Record<string, string>;
      // A value with '/' in its base64, escaped as \/ (JSON allows it; some serializers do it).
      map['.credentials_rsaparams'] = Buffer.from([0xff, 0xff, 0xff, 0x3f]).toString('base64');
      expect(map['.credentials_rsaparams']).toContain('/');
      const json = JSON.stringify(map).replaceAll('/', '\\/');
      putParameter(PARAMETER, b64(json));
      const result = await run(baseEnv());
      expect(result.code, result.out).toBe(0);
      expect(readFileSync(join(recordDir, 'files', '.credentials_rsaparams'))).toEqual(
        Buffer.from([0xff, 0xff, 0xff, 0x3f]),
      );
    });

    it('puts no secret in any process command line, nor in the environment of the runner, its step or itself', async () => {
      const jit = jitConfig();
      putParameter(PARAMETER, jit.encoded);
      const secrets = [jit.encoded, jit.accessToken, jit.rsa, b64(jit.files['.credentials'] ?? '')];
      const { result, sampled } = await runPaused(baseEnv(), () => {
        const runner = pidOf('run');
        const step = pidOf('step');
        const bootstrap = Number(readFileSync(join(recordDir, 'run.ppid'), 'utf8').trim());
        return {
          commandLines: allCommandLines(),
          environments: [runner, step, bootstrap].map((pid) => ({ pid, environ: readProc(pid, 'environ') })),
        };
      });
      expect(result.code, result.out).toBe(0);
      // The sample saw the processes it is about.
      expect(sampled.commandLines.some((p) => p.cmdline.includes(BOOTSTRAP))).toBe(true);
      for (const { environ } of sampled.environments) expect(environ).toContain('RECORD_DIR=');
      for (const secret of secrets) {
        for (const { pid, cmdline } of sampled.commandLines) expect(cmdline, `pid ${pid}`).not.toContain(secret);
        for (const { pid, environ } of sampled.environments) expect(environ, `pid ${pid}`).not.toContain(secret);
        expect(readFileSync(join(recordDir, 'run.env'), 'utf8')).not.toContain(secret);
        expect(readFileSync(join(recordDir, 'step.env'), 'utf8')).not.toContain(secret);
        // Every command run through PATH while the bootstrap worked, not just the ones alive at the sample.
        expect(spiedArgv()).not.toContain(secret);
        expect(result.out).not.toContain(secret);
      }
      expect(spiedArgv()).toContain('base64'); // the shims did record the decoding
    });

    it('gives the runner and its steps no AWS credentials and not the hand-off name', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      const result = await run(baseEnv());
      expect(result.code).toBe(0);
      for (const file of ['run.env', 'step.env']) {
        const env = readFileSync(join(recordDir, file), 'utf8');
        expect(env).not.toContain('AKIAFAKEFAKEFAKE');
        expect(env).not.toContain('fake-secret-access-key');
        expect(env).not.toContain(PARAMETER);
      }
    });

    it('never deletes the hand-off: the functions do', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      const result = await run(baseEnv());
      expect(result.code).toBe(0);
      expect(readFileSync(join(ssmDir, 'calls.log'), 'utf8')).toBe(`get-parameter ${PARAMETER}\n`);
      expect(existsSync(join(ssmDir, PARAMETER.replaceAll('/', '_')))).toBe(true);
      expect(result.out).toContain('it stays for the functions to delete');
    });

    it.each(['ParameterNotFound', 'AccessDeniedException'])(
      'waits for a hand-off that is not readable yet (%s), then runs',
      async (error) => {
        putParameter(PARAMETER, jitConfig().encoded);
        const result = await run(baseEnv({ FAKE_MISSING_TRIES: '3', FAKE_MISSING_ERROR: error }));
        expect(result.code, result.out).toBe(0);
        expect(readFileSync(join(ssmDir, 'calls.log'), 'utf8')).toBe(`get-parameter ${PARAMETER}\n`.repeat(4));
        expect(result.out).toContain(`waiting up to 120 s for the hand-off ${PARAMETER} (${error})`);
        expect(result.out).toContain('(try 4)');
        expect(existsSync(join(recordDir, 'run.args'))).toBe(true);
      },
    );

    it('gives up with exit 5 once JR_HANDOFF_WAIT_SECONDS have passed', async () => {
      const result = await run(baseEnv({ JR_HANDOFF_WAIT_SECONDS: '1', JR_HANDOFF_POLL_SECONDS: '0.2' }));
      expect(result.code).toBe(BootstrapExit.handoffUnreadable);
      expect(result.out).toMatch(
        new RegExp(
          `cannot read the JIT config from SSM parameter ${PARAMETER} within 1 s \\(\\d+ tries, last: ParameterNotFound\\)`,
        ),
      );
      const tries = readFileSync(join(ssmDir, 'calls.log'), 'utf8').trim().split('\n');
      expect(tries.length).toBeGreaterThan(1);
      expect(new Set(tries)).toEqual(new Set([`get-parameter ${PARAMETER}`]));
      expect(existsSync(join(recordDir, 'run.args'))).toBe(false);
    });

    it('does not wait on an error that waiting cannot fix', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      const result = await run(baseEnv({ FAKE_MISSING_TRIES: '1', FAKE_MISSING_ERROR: 'ValidationException' }));
      expect(result.code).toBe(BootstrapExit.handoffUnreadable);
      expect(result.out).toContain('(ValidationException); not retried');
      expect(readFileSync(join(ssmDir, 'calls.log'), 'utf8')).toBe(`get-parameter ${PARAMETER}\n`);
    });

    it.each([
      ['is not base64', '%%%not-base64%%%'],
      ['is JSON without the runner files', b64(JSON.stringify({ '.credentials': b64('{}') }))],
      ['is not JSON', b64('hello')],
    ])('refuses a hand-off that %s, with exit 5 and without starting the runner', async (_name, value) => {
      putParameter(PARAMETER, value);
      const result = await run(baseEnv());
      expect(result.code).toBe(BootstrapExit.handoffUnreadable);
      expect(result.out).toContain(`SSM parameter ${PARAMETER}`);
      expect(existsSync(join(recordDir, 'run.args'))).toBe(false);
    });

    it('refuses a JIT config that names a file outside the runner directory', async () => {
      const runnerDir = join(root, `runner-${Math.random().toString(36).slice(2)}`);
      const map = { '.runner': b64(runnerSettings()), '.credentials': b64('{}'), '../escaped': b64('x') };
      putParameter(PARAMETER, b64(JSON.stringify(map)));
      const result = await run(baseEnv({ JR_RUNNER_DIR: runnerDir }));
      expect(result.code).toBe(BootstrapExit.handoffUnreadable);
      expect(result.out).toContain('names a file outside the runner directory');
      expect(existsSync(join(runnerDir, '..', 'escaped'))).toBe(false);
      expect(existsSync(join(recordDir, 'run.args'))).toBe(false);
    });

    it('refuses a wait that is not a whole number of seconds', async () => {
      const result = await run(baseEnv({ JR_HANDOFF_WAIT_SECONDS: 'soon' }));
      expect(result.code).toBe(BootstrapExit.badInput);
      expect(result.out).toContain('JR_HANDOFF_WAIT_SECONDS must be a whole number of seconds');
    });
  });

  describe('warm mode (JR_WARM_IDLE_SECONDS)', () => {
    const WARM_PARAMETER = '/jr/jit/jr-warm-x64-7f3a-0123456789abcdef0123456789abcdef';
    /** The recorded argv lines whose command is `name`. */
    const calls = (name: string) =>
      spiedArgv()
        .split('\n')
        .filter((l) => l.startsWith(`${name} `));
    const warmEnv = (extra: Record<string, string> = {}) =>
      baseEnv({
        JR_PARAMETER: WARM_PARAMETER,
        JR_RUNNER_NAME: 'jr-warm-x64-7f3a',
        JR_WARM_NAME: 'jr-warm-x64-7f3a',
        JR_WARM_IDLE_SECONDS: '20',
        JR_WARM_POLL_SECONDS: '0.05',
        JR_WARM_POLL_JITTER_MS: '0',
        ...extra,
      });

    /**
     * Runs the bootstrap and writes its hand-off `afterMs` after the bootstrap logged that it waits (it has
     * prepared by then); resolves with the run, when the hand-off was written and when run.sh started.
     */
    function runClaimedAfter(
      env: Record<string, string>,
      afterMs: number,
      value: string,
    ): Promise<Run & { writtenAt: number; startedAt: number }> {
      return new Promise((done) => {
        const child = spawn('bash', [BOOTSTRAP], { env: processEnv(env) });
        let out = '';
        let writtenAt = 0;
        const onData = (d: Buffer) => {
          out += d.toString();
          if (writtenAt === 0 && out.includes('waiting up to')) {
            writtenAt = -1;
            setTimeout(() => {
              putParameter(WARM_PARAMETER, value);
              writtenAt = Date.now();
            }, afterMs);
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          const pid = join(recordDir, 'run.pid');
          done({ code: code ?? 1, out, writtenAt, startedAt: existsSync(pid) ? statSync(pid).mtimeMs : 0 });
        });
      });
    }

    it('prepares, waits for its hand-off, then runs exactly one job with the config read as a cold runner reads it', async () => {
      const jit = jitConfig();
      const result = await runClaimedAfter(warmEnv(), 300, jit.encoded);
      expect(result.code, result.out).toBe(0);
      // Prepared before waiting: the tarball was fetched and verified before the first read.
      expect(result.out.indexOf(`verified ${TARBALL}`)).toBeLessThan(result.out.indexOf('waiting up to 20 s'));
      expect(result.out).toContain('warm (idle up to 20 s)');
      // Once prepared, one line says so, naming the warm runner as runner-events reads it, before the first read.
      const lines = result.out.split('\n');
      const ready = lines.filter((line) => warmReadyName(line) !== undefined);
      expect(ready.map(warmReadyName)).toEqual(['jr-warm-x64-7f3a']);
      expect(result.out.indexOf(`verified ${TARBALL}`)).toBeLessThan(result.out.indexOf(ready[0] ?? '?'));
      expect(result.out.indexOf(ready[0] ?? '?')).toBeLessThan(result.out.indexOf('read the hand-off'));
      const reads = readFileSync(join(ssmDir, 'calls.log'), 'utf8').trim().split('\n');
      expect(reads.length).toBeGreaterThan(2);
      expect(new Set(reads)).toEqual(new Set([`get-parameter ${WARM_PARAMETER}`]));
      expect(readFileSync(join(recordDir, 'run.args'), 'utf8')).toBe('\n');
      expect(readFileSync(join(recordDir, 'files', '.credentials'), 'utf8')).toBe(jit.files['.credentials']);
      expect(result.out.match(/starting JIT runner/g)).toHaveLength(1);
      expect(existsSync(join(recordDir, 'config.args'))).toBe(false);
      expect(result.startedAt - result.writtenAt).toBeLessThan(2_000);
    });

    it('picks its hand-off up within the poll interval and its jitter at the defaults (1 s + up to 0.5 s)', async () => {
      const env = warmEnv();
      delete env.JR_WARM_POLL_SECONDS;
      delete env.JR_WARM_POLL_JITTER_MS;
      const result = await runClaimedAfter(env, 200, jitConfig().encoded);
      expect(result.code, result.out).toBe(0);
      const pickup = result.startedAt - result.writtenAt;
      expect(pickup).toBeLessThan(2_500);
      expect(calls('sleep').every((l) => /^sleep 1 0\.\d{3} $/.test(l))).toBe(true);
    });

    it('exits 0 without registering or starting anything when no hand-off came within its bound', async () => {
      const result = await run(warmEnv({ JR_WARM_IDLE_SECONDS: '1', JR_WARM_POLL_SECONDS: '0.1' }));
      expect(result.code, result.out).toBe(0);
      expect(result.out).toMatch(
        /warm runner jr-warm-x64-7f3a: no hand-off within 1 s \(\d+ tries\); exiting without registering/,
      );
      expect(result.out).not.toContain('cannot read the JIT config');
      expect(existsSync(join(recordDir, 'run.args'))).toBe(false);
      expect(existsSync(join(recordDir, 'config.args'))).toBe(false);
    });

    it('never prints the JIT config or its credentials, nor puts them in a command line', async () => {
      const jit = jitConfig();
      const result = await runClaimedAfter(warmEnv(), 100, jit.encoded);
      expect(result.code, result.out).toBe(0);
      for (const secret of [jit.encoded, jit.accessToken, jit.rsa]) {
        expect(result.out).not.toContain(secret);
        expect(spiedArgv()).not.toContain(secret);
      }
      expect(readFileSync(join(recordDir, 'run.env'), 'utf8')).not.toContain(jit.accessToken);
    });

    it('on EC2 reads the warm flag from its instance tags and shuts down after an idle bound with no job', async () => {
      imdsTags = {
        JR_MODE: 'jit',
        JR_PARAMETER: WARM_PARAMETER,
        JR_RUNNER_NAME: 'jr-warm-x64-7f3a',
        JR_WARM_NAME: 'jr-warm-x64-7f3a',
        JR_WARM_IDLE_SECONDS: '1',
        JR_RUNNER_VERSION: VERSION,
      };
      const env = warmEnv({ JR_PLATFORM: 'ec2', JR_IMDS_URL: `${baseUrl}/imds`, JR_WARM_POLL_SECONDS: '0.2' });
      for (const name of ['JR_MODE', 'JR_PARAMETER', 'JR_RUNNER_NAME', 'JR_WARM_NAME', 'JR_WARM_IDLE_SECONDS']) {
        delete env[name];
      }
      const result = await run(env);
      expect(result.code, result.out).toBe(0);
      expect(requests).toContain('/imds/latest/meta-data/tags/instance/JR_WARM_IDLE_SECONDS');
      expect(result.out).toContain('no hand-off within 1 s');
      expect(calls('shutdown')).toEqual(['shutdown -h now ']);
      // The metadata service is blocked only once a job's config is about to run.
      expect(calls('ip')).toEqual([]);
      expect(existsSync(join(recordDir, 'run.args'))).toBe(false);
    });

    it.each([
      ['a regular runner', { JR_MODE: 'regular', JR_URL: 'https://github.com/o/r', JR_LABELS: 'x' }],
      ['a bound that is not whole seconds', { JR_WARM_IDLE_SECONDS: '1.5' }],
      ['a bound of zero', { JR_WARM_IDLE_SECONDS: '0' }],
      ['a jitter of a second or more', { JR_WARM_POLL_JITTER_MS: '1000' }],
    ])('refuses %s with the bad-input exit code, before downloading', async (_name, extra) => {
      const result = await run(warmEnv(extra));
      expect(result.code).toBe(2);
      expect(requests).toEqual([]);
    });
  });

  describe('regular mode', () => {
    const regular = (token: string) => {
      putParameter('/jr/jit/jr-baseline-x', token);
      return baseEnv({
        JR_MODE: 'regular',
        JR_PARAMETER: '/jr/jit/jr-baseline-x',
        JR_RUNNER_NAME: 'jr-baseline-x',
        JR_URL: 'https://github.com/octo/repo',
        JR_LABELS: 'jit-runners-baseline-x',
      });
    };

    it('registers with updates disabled and no default labels, the token in config.sh’s environment only, then runs', async () => {
      const token = `REG-${randomBytes(12).toString('hex')}`;
      const result = await run(regular(token));
      expect(result.code, result.out).toBe(0);
      expect(readFileSync(join(recordDir, 'config.args'), 'utf8').trim().split('\n')).toEqual([
        '--unattended',
        '--url',
        'https://github.com/octo/repo',
        '--name',
        'jr-baseline-x',
        '--labels',
        'jit-runners-baseline-x',
        '--no-default-labels',
        '--disableupdate',
        '--work',
        '_work',
      ]);
      // The runner reads ACTIONS_RUNNER_INPUT_TOKEN as --token (CommandSettings.cs).
      expect(readFileSync(join(recordDir, 'config.env'), 'utf8')).toContain(`ACTIONS_RUNNER_INPUT_TOKEN=${token}\n`);
      expect(readFileSync(join(recordDir, 'run.args'), 'utf8')).toBe('\n'); // run.sh ran, with no arguments
      expect(readFileSync(join(ssmDir, 'calls.log'), 'utf8')).toBe('get-parameter /jr/jit/jr-baseline-x\n');
    });

    it('keeps the registration token out of every command line and out of the runner’s and its step’s environment', async () => {
      const token = `REG-${randomBytes(12).toString('hex')}`;
      const { result, sampled } = await runPaused(regular(token), () => ({
        commandLines: allCommandLines(),
        environments: [pidOf('run'), pidOf('step')].map((pid) => readProc(pid, 'environ')),
      }));
      expect(result.code, result.out).toBe(0);
      for (const { pid, cmdline } of sampled.commandLines) expect(cmdline, `pid ${pid}`).not.toContain(token);
      for (const environ of sampled.environments) {
        expect(environ).toContain('RECORD_DIR=');
        expect(environ).not.toContain(token);
        expect(environ).not.toContain('ACTIONS_RUNNER_INPUT_');
      }
      expect(readFileSync(join(recordDir, 'run.env'), 'utf8')).not.toContain(token);
      expect(readFileSync(join(recordDir, 'step.env'), 'utf8')).not.toContain(token);
      expect(spiedArgv()).not.toContain(token);
      expect(spiedArgv()).toContain('tar'); // the shims were in use
      expect(result.out).not.toContain(token);
    });
  });

  describe('the tarball', () => {
    it('refuses a tarball whose SHA-256 does not match, with exit 4 and the line runner-events classifies', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      const pinned = 'a'.repeat(64);
      writeChecksums({ [TARBALL]: pinned });
      const result = await run(baseEnv());
      expect(result.code).toBe(BootstrapExit.checksumMismatch);
      const line = result.out.split('\n').find((l) => l.includes('checksum mismatch')) ?? '';
      expect(line).toBe(
        `jit-runners bootstrap: error: checksum mismatch for runner version ${VERSION} (${TARBALL}): expected sha256 ${pinned}, got ${tarballSha}; refusing to run it`,
      );
      const c = classifyLogLine(line);
      expect(c?.class).toBe('checksum-mismatch');
      expect(c?.detail).toContain(`version v${VERSION}`);
      expect(c?.detail).toContain(`expected sha256 ${pinned}`);
      // Before the hand-off is read: a refused runner never touches its secret.
      expect(existsSync(join(recordDir, 'run.args'))).toBe(false);
      expect(existsSync(join(ssmDir, 'calls.log'))).toBe(false);
    });

    it('refuses a version that has no entry in the checksum table, without downloading', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      writeChecksums({ [`actions-runner-linux-arm64-${VERSION}.tar.gz`]: tarballSha });
      const result = await run(baseEnv());
      expect(result.code).toBe(BootstrapExit.noChecksum);
      expect(result.out).toContain(`no SHA-256 for ${TARBALL}`);
      expect(requests).toEqual([]);
      expect(existsSync(join(recordDir, 'run.args'))).toBe(false);
    });

    it('verifies against the digest handed for its architecture, which wins over the checksum table', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      // An adopted version: the table has nothing for it (or something stale); the handed digest decides.
      writeChecksums({ [TARBALL]: 'c'.repeat(64) });
      const result = await run(baseEnv({ JR_RUNNER_SHA256_X64: tarballSha, JR_RUNNER_SHA256_ARM64: 'd'.repeat(64) }));
      expect(result.code, result.out).toBe(0);
      expect(result.out).toContain(`expected sha256 for ${TARBALL} handed in JR_RUNNER_SHA256_X64`);
      expect(result.out).toContain(`verified ${TARBALL} sha256=${tarballSha}`);
      expect(existsSync(join(recordDir, 'run.args'))).toBe(true);
    });

    it('refuses a tarball that does not match the handed digest, with exit 4 and the same line', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      const handed = 'e'.repeat(64);
      writeChecksums({});
      const result = await run(baseEnv({ JR_RUNNER_SHA256_X64: handed.toUpperCase() }));
      expect(result.code).toBe(BootstrapExit.checksumMismatch);
      const line = result.out.split('\n').find((l) => l.includes('checksum mismatch')) ?? '';
      expect(line).toBe(
        `jit-runners bootstrap: error: checksum mismatch for runner version ${VERSION} (${TARBALL}): expected sha256 ${handed}, got ${tarballSha}; refusing to run it`,
      );
      expect(classifyLogLine(line)?.class).toBe('checksum-mismatch');
      expect(existsSync(join(recordDir, 'run.args'))).toBe(false);
      expect(existsSync(join(ssmDir, 'calls.log'))).toBe(false);
    });

    it('refuses a handed digest that is not 64 hex digits with the checksum exit code, without downloading', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      const result = await run(baseEnv({ JR_RUNNER_SHA256_X64: `${tarballSha.slice(0, 63)}g` }));
      expect(result.code).toBe(BootstrapExit.noChecksum);
      expect(result.out).toContain('JR_RUNNER_SHA256_X64 is not a SHA-256 (64 hex digits)');
      expect(requests).toEqual([]);
    });

    it('uses the checksum table when only the other architecture has a handed digest', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      const result = await run(baseEnv({ JR_RUNNER_SHA256_ARM64: 'f'.repeat(64) }));
      expect(result.code, result.out).toBe(0);
      expect(result.out).not.toContain('handed in');
    });

    describe('from the tarball cache (JR_RUNNER_CACHE_BUCKET)', () => {
      const BUCKET = 'jr-fleet-tarballs';
      const cacheEnv = (extra: Record<string, string> = {}) =>
        baseEnv({ JR_RUNNER_CACHE_BUCKET: BUCKET, FAKE_S3: s3Dir, ...extra });
      let s3Dir: string;
      beforeEach(() => {
        s3Dir = mkdtempSync(join(root, 's3-'));
        mkdirSync(join(s3Dir, BUCKET, 'runner-tarballs'), { recursive: true });
      });
      const cacheObject = (bytes: Buffer) => writeFileSync(join(s3Dir, BUCKET, 'runner-tarballs', TARBALL), bytes);
      const s3Calls = () =>
        existsSync(join(s3Dir, 'calls.log')) ? readFileSync(join(s3Dir, 'calls.log'), 'utf8').trim().split('\n') : [];

      it('boots from the cached tarball without downloading from github.com, verifying its digest', async () => {
        putParameter(PARAMETER, jitConfig().encoded);
        cacheObject(tarballBytes);
        const result = await run(cacheEnv({ JR_RUNNER_SHA256_X64: tarballSha }));
        expect(result.code, result.out).toBe(0);
        expect(requests).toEqual([]);
        expect(s3Calls()).toEqual([
          expect.stringMatching(
            new RegExp(`^s3 cp .*s3://${BUCKET}/runner-tarballs/${TARBALL.replaceAll('.', '\\.')} `),
          ),
        ]);
        expect(result.out).toContain(`fetched s3://${BUCKET}/runner-tarballs/${TARBALL} from the tarball cache`);
        expect(result.out).toContain(`verified ${TARBALL} sha256=${tarballSha}`);
        expect(existsSync(join(recordDir, 'run.args'))).toBe(true);
      });

      it('downloads from github.com when the cache does not hold the tarball', async () => {
        putParameter(PARAMETER, jitConfig().encoded);
        const result = await run(cacheEnv());
        expect(result.code, result.out).toBe(0);
        expect(s3Calls()).toHaveLength(1);
        expect(requests).toEqual([`/v${VERSION}/${TARBALL}`]);
        expect(result.out).toContain(
          'is not in the tarball cache (or not readable); downloading from github.com instead',
        );
      });

      it('refuses a cached tarball whose digest is wrong with exit 4, without falling back or reading the hand-off', async () => {
        putParameter(PARAMETER, jitConfig().encoded);
        const tampered = Buffer.concat([tarballBytes, Buffer.from('tampered')]);
        cacheObject(tampered);
        const result = await run(cacheEnv({ JR_RUNNER_SHA256_X64: tarballSha }));
        expect(result.code).toBe(BootstrapExit.checksumMismatch);
        const line = result.out.split('\n').find((l) => l.includes('checksum mismatch')) ?? '';
        expect(line).toBe(
          `jit-runners bootstrap: error: checksum mismatch for runner version ${VERSION} (${TARBALL}): expected sha256 ${tarballSha}, got ${createHash('sha256').update(tampered).digest('hex')}; refusing to run it`,
        );
        expect(classifyLogLine(line)?.class).toBe('checksum-mismatch');
        expect(requests).toEqual([]);
        expect(existsSync(join(recordDir, 'run.args'))).toBe(false);
        expect(existsSync(join(ssmDir, 'calls.log'))).toBe(false);
      });

      it('refuses a bucket name that is not one with the bad-input exit code', async () => {
        const result = await run(cacheEnv({ JR_RUNNER_CACHE_BUCKET: 'Not A Bucket' }));
        expect(result.code).toBe(BootstrapExit.badInput);
        expect(s3Calls()).toEqual([]);
      });
    });

    it('fails with its own exit code when the download fails', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      const result = await run(baseEnv({ JR_DOWNLOAD_BASE_URL: `${baseUrl}/nowhere` }));
      expect(result.code).toBe(BootstrapExit.downloadFailed);
    });

    it('ships a checksum for both architectures of the default runner version', () => {
      const table = JSON.parse(readFileSync('runner/checksums.json', 'utf8')) as Record<string, string>;
      for (const arch of ['x64', 'arm64']) {
        expect(table[`actions-runner-linux-${arch}-${DEFAULT_RUNNER_VERSION}.tar.gz`]).toMatch(/^[0-9a-f]{64}$/);
      }
    });
  });

  describe('inputs', () => {
    it('fails clearly when no parameter name is given', async () => {
      const result = await run(baseEnv({ JR_PARAMETER: '' }));
      expect(result.code).toBe(BootstrapExit.badInput);
      expect(result.out).toContain('JR_PARAMETER is missing');
    });

    it('rejects an unknown mode and a version that is not exact', async () => {
      expect((await run(baseEnv({ JR_MODE: 'both' }))).code).toBe(BootstrapExit.badInput);
      const loose = await run(baseEnv({ JR_RUNNER_VERSION: 'latest' }));
      expect(loose.code).toBe(BootstrapExit.badInput);
      expect(loose.out).toContain('JR_RUNNER_VERSION must be an exact version');
    });

    it('documents every exit code of the domain table at the top of the script', () => {
      const header = readFileSync(BOOTSTRAP, 'utf8').split('\nset +x')[0] ?? '';
      for (const code of Object.values(BootstrapExit)) expect(header).toMatch(new RegExp(`^#   ${code} `, 'm'));
    });
  });

  describe('platforms', () => {
    /** The recorded argv lines whose command is `name`. */
    const calls = (name: string) =>
      spiedArgv()
        .split('\n')
        .filter((l) => l.startsWith(`${name} `));

    it('on EC2 reads its inputs from the instance tags, blocks the metadata service and shuts down after the runner', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      imdsTags = { JR_MODE: 'jit', JR_PARAMETER: PARAMETER, JR_RUNNER_NAME: 'jr-42-1', JR_RUNNER_VERSION: VERSION };
      const env = baseEnv({ JR_PLATFORM: 'ec2', JR_IMDS_URL: `${baseUrl}/imds`, JR_FAILURE_FLUSH_SECONDS: '1' });
      for (const name of ['JR_MODE', 'JR_PARAMETER', 'JR_RUNNER_NAME', 'JR_RUNNER_VERSION']) delete env[name];
      const result = await run(env);
      expect(result.code, result.out).toBe(0);
      expect(result.out).not.toContain('handed in');
      expect(readFileSync(join(ssmDir, 'calls.log'), 'utf8')).toBe(`get-parameter ${PARAMETER}\n`);
      expect(calls('ip')).toEqual(['ip route add prohibit 169.254.169.254/32 ']);
      expect(calls('shutdown')).toEqual(['shutdown -h now ']);
      expect(calls('sleep')).toEqual([]); // no failure, no wait
      expect(readFileSync(join(recordDir, 'run.env'), 'utf8')).not.toContain(PARAMETER);
    });

    it('on EC2 reads a handed digest from the instance tags', async () => {
      putParameter(PARAMETER, jitConfig().encoded);
      writeChecksums({});
      imdsTags = {
        JR_MODE: 'jit',
        JR_PARAMETER: PARAMETER,
        JR_RUNNER_NAME: 'jr-42-1',
        JR_RUNNER_VERSION: VERSION,
        JR_RUNNER_SHA256_X64: tarballSha,
      };
      const env = baseEnv({ JR_PLATFORM: 'ec2', JR_IMDS_URL: `${baseUrl}/imds`, JR_FAILURE_FLUSH_SECONDS: '1' });
      for (const name of ['JR_MODE', 'JR_PARAMETER', 'JR_RUNNER_NAME', 'JR_RUNNER_VERSION']) delete env[name];
      const result = await run(env);
      expect(result.code, result.out).toBe(0);
      expect(result.out).toContain('handed in JR_RUNNER_SHA256_X64');
      expect(requests).toContain('/imds/latest/meta-data/tags/instance/JR_RUNNER_SHA256_X64');
    });

    it('on EC2 waits JR_FAILURE_FLUSH_SECONDS after a failed bootstrap, then shuts down', async () => {
      writeChecksums({ [TARBALL]: 'b'.repeat(64) });
      const result = await run(
        baseEnv({ JR_PLATFORM: 'ec2', JR_IMDS_URL: `${baseUrl}/imds`, JR_FAILURE_FLUSH_SECONDS: '1' }),
      );
      expect(result.code).toBe(BootstrapExit.checksumMismatch);
      const lines = spiedArgv().split('\n');
      const slept = lines.indexOf('sleep 1 ');
      expect(slept).toBeGreaterThan(-1);
      expect(lines.indexOf('shutdown -h now ')).toBeGreaterThan(slept);
    });

    it('on CodeBuild waits after a failed bootstrap and shuts nothing down; elsewhere it does not wait', async () => {
      writeChecksums({ [TARBALL]: 'b'.repeat(64) });
      const codebuild = await run(baseEnv({ JR_PLATFORM: 'codebuild', JR_FAILURE_FLUSH_SECONDS: '1' }));
      expect(codebuild.code).toBe(BootstrapExit.checksumMismatch);
      expect(calls('sleep')).toEqual(['sleep 1 ']);
      expect(calls('shutdown')).toEqual([]);
      rmSync(join(recordDir, 'argv.log'));
      const other = await run(baseEnv({ JR_FAILURE_FLUSH_SECONDS: '1' }));
      expect(other.code).toBe(BootstrapExit.checksumMismatch);
      expect(calls('sleep')).toEqual([]);
    });
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
});
