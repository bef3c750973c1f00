import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type ConfigSources, parseConfig } from '../../functions/config/config.ts';
import { ConfigError } from '../../functions/domain/errors.ts';
import { DEFAULT_RUNNER_VERSION, DEFAULT_RUNNER_VERSION_FLOOR } from '../../functions/domain/runner-version.ts';

const readFile = (path: string) => readFileSync(path, 'utf8');
const parseYaml = (text: string): unknown => parse(text);
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const app = {
  GITHUB_APP_ID: '123',
  GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  GITHUB_WEBHOOK_SECRET: 's3cret-value',
};
const pools = (list: unknown) => ({ RUNNER_POOLS: JSON.stringify(list) });
const x64 = { name: 'x64', labels: ['self-hosted', 'linux', 'x64'] };
const arm64 = { name: 'arm64', labels: ['self-hosted', 'linux', 'arm64'] };

function messageOf(
  env: Record<string, string>,
  sources: Partial<ConfigSources> = {},
  context: 'local' | 'lambda' = 'local',
) {
  try {
    parseConfig({ env, readFile, parseYaml, ...sources }, context);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('the default pool', () => {
  it('is one pool `default` from the defaults when no pool list is set, with no notice', () => {
    const config = parseConfig({ env: {} });
    expect(config.pools).toEqual([
      {
        name: 'default',
        labels: ['self-hosted', 'linux', 'x64'],
        launcher: 'local',
        runnerVersion: DEFAULT_RUNNER_VERSION,
      },
    ]);
    expect(config.notices).toEqual([]);
  });

  it('takes RUNNER_LABELS, LAUNCHER, RUNNER_DIR and RUNNER_VERSION, and has no cap', () => {
    const env = {
      RUNNER_LABELS: 'self-hosted,Linux,ARM64',
      LAUNCHER: 'ec2',
      RUNNER_DIR: '/opt/runner',
      RUNNER_VERSION: '2.331.0',
    };
    const [pool, ...more] = parseConfig({ env }).pools;
    expect(more).toEqual([]);
    expect(pool).toEqual({
      name: 'default',
      labels: ['self-hosted', 'linux', 'arm64'],
      launcher: 'ec2',
      runnerDir: '/opt/runner',
      runnerVersion: '2.331.0',
    });
    expect(pool?.maxRunners).toBeUndefined();
  });
});

describe('RUNNER_POOLS', () => {
  it('parses pools in listed order, lower-casing labels, each taking LAUNCHER, RUNNER_DIR and RUNNER_VERSION by default', () => {
    const env = {
      ...pools([
        { ...x64, labels: ['Self-Hosted', 'Linux', 'X64'], maxRunners: 5 },
        { ...arm64, launcher: 'codebuild', runnerDir: '/opt/arm64', runnerVersion: '2.331.0' },
      ]),
      LAUNCHER: 'ec2',
      RUNNER_DIR: '/opt/runner',
    };
    expect(parseConfig({ env }).pools).toEqual([
      { ...x64, launcher: 'ec2', runnerDir: '/opt/runner', maxRunners: 5, runnerVersion: DEFAULT_RUNNER_VERSION },
      { ...arm64, launcher: 'codebuild', runnerDir: '/opt/arm64', runnerVersion: '2.331.0' },
    ]);
  });

  it('leaves runnerDir out when neither the pool nor RUNNER_DIR sets it, and defaults the launcher to local', () => {
    expect(parseConfig({ env: pools([x64]) }).pools).toEqual([
      { ...x64, launcher: 'local', runnerVersion: DEFAULT_RUNNER_VERSION },
    ]);
  });

  it('says once that RUNNER_LABELS is ignored when it is set beside a pool list, and leaves the fleet labels as they were', () => {
    const config = parseConfig({ env: { ...pools([arm64]), RUNNER_LABELS: 'self-hosted,gpu' } });
    expect(config.notices).toEqual([
      "RUNNER_LABELS is ignored: RUNNER_POOLS is set, and each pool's labels choose the pool",
    ]);
    // Parsed as before; the pipeline serves and mints by the pools, so these labels choose nothing here.
    expect(config.runner.labels).toEqual(['self-hosted', 'gpu']);
    expect(parseConfig({ env: pools([arm64]) }).notices).toEqual([]);
    expect(parseConfig({ env: { ...pools([arm64]), RUNNER_LABELS: ' ' } }).notices).toEqual([]);
  });

  it('treats a blank RUNNER_POOLS as unset', () => {
    expect(parseConfig({ env: { RUNNER_POOLS: '  ' } }).pools.map((p) => p.name)).toEqual(['default']);
  });

  it.each([
    { list: 'not json', message: /^RUNNER_POOLS: is not valid JSON \(.+\)$/ },
    { list: '[{"name": "x64",}]', message: /^RUNNER_POOLS: is not valid JSON \(.+\)$/ },
    { list: '{"name": "x64"}', message: 'RUNNER_POOLS: must be a list (JSON array) of pools' },
    { list: '[]', message: 'RUNNER_POOLS: needs at least one pool' },
    { list: [x64, 'arm64'], message: 'RUNNER_POOLS: pool at index 1: must be an object with name and labels' },
    { list: [{ labels: ['linux'] }], message: 'RUNNER_POOLS: pool at index 0: name: is required' },
    {
      list: [{ name: 7, labels: ['linux'] }],
      message: 'RUNNER_POOLS: pool at index 0: name: expected string, received number',
    },
    {
      list: [{ name: 'ARM64', labels: ['linux'] }],
      message: 'RUNNER_POOLS: pool "ARM64" (index 0): name: must be 1-32 characters of a-z 0-9 -',
    },
    {
      list: [{ name: 'arm_64', labels: ['linux'] }],
      message: 'RUNNER_POOLS: pool "arm_64" (index 0): name: must be 1-32 characters of a-z 0-9 -',
    },
    {
      list: [{ name: '', labels: ['linux'] }],
      message: 'RUNNER_POOLS: pool "" (index 0): name: must be 1-32 characters of a-z 0-9 -',
    },
    {
      list: [{ name: 'a'.repeat(33), labels: ['linux'] }],
      message: `RUNNER_POOLS: pool "${'a'.repeat(33)}" (index 0): name: must be 1-32 characters of a-z 0-9 -`,
    },
    {
      list: [x64, { ...arm64, name: 'x64' }],
      message: 'RUNNER_POOLS: pool "x64" (index 1): name: is already the name of the pool at index 0',
    },
    {
      list: [x64, { name: 'arm64', labels: [] }],
      message: 'RUNNER_POOLS: pool "arm64" (index 1): labels: needs at least one label',
    },
    {
      list: [x64, { name: 'arm64', labels: [' ', ''] }],
      message: 'RUNNER_POOLS: pool "arm64" (index 1): labels: needs at least one label',
    },
    { list: [{ name: 'arm64' }], message: 'RUNNER_POOLS: pool "arm64" (index 0): labels: is required' },
    {
      list: [{ name: 'arm64', labels: 'linux,arm64' }],
      message: 'RUNNER_POOLS: pool "arm64" (index 0): labels: expected array, received string',
    },
    {
      list: [{ name: 'arm64', labels: ['linux', 64] }],
      message: 'RUNNER_POOLS: pool "arm64" (index 0): labels[1]: expected string, received number',
    },
    {
      list: [{ name: 'arm64', labels: ['linux,arm64'] }],
      message: 'RUNNER_POOLS: pool "arm64" (index 0): labels[0]: a label cannot contain a comma',
    },
    {
      list: [{ ...arm64, launcher: 'docker' }],
      message: 'RUNNER_POOLS: pool "arm64" (index 0): launcher: must be one of local, codebuild, ec2',
    },
    {
      list: [{ ...arm64, maxRunners: 0 }],
      message: 'RUNNER_POOLS: pool "arm64" (index 0): maxRunners: must be at least 1',
    },
    {
      list: [{ ...arm64, maxRunners: -3 }],
      message: 'RUNNER_POOLS: pool "arm64" (index 0): maxRunners: must be at least 1',
    },
    {
      list: [{ ...arm64, maxRunners: 2.5 }],
      message: 'RUNNER_POOLS: pool "arm64" (index 0): maxRunners: must be a whole number',
    },
    {
      list: [{ ...arm64, maxRunners: '5' }],
      message: 'RUNNER_POOLS: pool "arm64" (index 0): maxRunners: expected number, received string',
    },
    {
      list: [{ ...arm64, runnerVersion: 'latest' }],
      message: 'RUNNER_POOLS: pool "arm64" (index 0): runnerVersion: must be an exact version such as 2.330.0, or auto',
    },
    {
      list: [{ ...arm64, runnerVersion: '2.300.0' }],
      message: `RUNNER_POOLS: pool "arm64" (index 0): runnerVersion: 2.300.0 is below the minimum ${DEFAULT_RUNNER_VERSION_FLOOR} GitHub accepts for registration`,
    },
    { list: [{ ...arm64, runnerDir: '' }], message: 'RUNNER_POOLS: pool "arm64" (index 0): runnerDir: must be a path' },
    {
      list: [{ ...arm64, maxRunner: 5 }],
      message:
        'RUNNER_POOLS: pool "arm64" (index 0): maxRunner: is not a pool field (name, labels, launcher, runnerDir, maxRunners, runnerVersion, codebuild, ec2, warm)',
    },
    {
      list: [
        { name: 'any', labels: ['self-hosted', 'linux', 'large'] },
        x64,
        { name: 'big', labels: ['Linux', 'large'] },
      ],
      message: 'RUNNER_POOLS: pool "big" can never be chosen: pool "any" (listed earlier) covers all its labels',
    },
    {
      list: [x64, { name: 'x64-again', labels: ['x64', 'linux', 'self-hosted'] }],
      message: 'RUNNER_POOLS: pool "x64-again" can never be chosen: pool "x64" (listed earlier) covers all its labels',
    },
  ])('stops start-up on $list with one line naming the pool and the field', ({ list, message }) => {
    const env = typeof list === 'string' ? { RUNNER_POOLS: list } : pools(list);
    const got = messageOf(env);
    expect(got.split('\n')).toHaveLength(1);
    if (typeof message === 'string') expect(got).toBe(message);
    else expect(got).toMatch(message);
  });

  it('accepts pools that only overlap: a later pool that no single earlier pool covers can be chosen', () => {
    const list = [x64, arm64, { name: 'x64-large', labels: ['self-hosted', 'x64', 'large'] }];
    expect(parseConfig({ env: pools(list) }).pools.map((p) => p.name)).toEqual(['x64', 'arm64', 'x64-large']);
  });

  it('needs a runnerDir for a local pool with a GitHub App, from the pool or RUNNER_DIR; the sandbox has its sample runner', () => {
    const ec2 = { ...app, LAUNCHER: 'ec2' };
    expect(messageOf({ ...ec2, ...pools([arm64, { ...x64, launcher: 'local' }]) })).toBe(
      'RUNNER_POOLS: pool "x64" (index 1): runnerDir: is required with a GitHub App and the local launcher (or set RUNNER_DIR): point it at an extracted actions-runner directory',
    );
    const own = parseConfig({
      env: { ...ec2, ...pools([arm64, { ...x64, launcher: 'local', runnerDir: '/opt/x64' }]) },
    });
    expect(own.pools.map((p) => [p.launcher, p.runnerDir])).toEqual([
      ['ec2', undefined],
      ['local', '/opt/x64'],
    ]);
    const shared = parseConfig({ env: { ...app, RUNNER_DIR: '/opt/runner', ...pools([x64, arm64]) } });
    expect(shared.pools.map((p) => p.runnerDir)).toEqual(['/opt/runner', '/opt/runner']);
    expect(parseConfig({ env: pools([x64]) }).pools[0]?.runnerDir).toBeUndefined();
  });
});

describe('RUNNER_POOLS_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jr-pools-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it.each(['pools.yaml', 'pools.yml'])('reads the pool list from a YAML file (%s)', (name) => {
    const path = file(
      name,
      [
        '# two pools, matched in this order',
        '- name: x64',
        '  labels: [self-hosted, linux, X64]',
        '  maxRunners: 5',
        '- name: arm64',
        '  labels:',
        '    - self-hosted',
        '    - linux',
        '    - arm64',
        '  launcher: codebuild',
        '  runnerVersion: "2.331.0"',
        '',
      ].join('\n'),
    );
    expect(parseConfig({ env: { RUNNER_POOLS_FILE: path }, readFile, parseYaml }).pools).toEqual([
      { ...x64, launcher: 'local', maxRunners: 5, runnerVersion: DEFAULT_RUNNER_VERSION },
      { ...arm64, launcher: 'codebuild', runnerVersion: '2.331.0' },
    ]);
  });

  it('reads the pool list from a JSON file', () => {
    const path = file('pools.json', JSON.stringify([x64, arm64], null, 2));
    expect(parseConfig({ env: { RUNNER_POOLS_FILE: path }, readFile, parseYaml }).pools.map((p) => p.name)).toEqual([
      'x64',
      'arm64',
    ]);
  });

  it('says RUNNER_LABELS is ignored when set beside the file', () => {
    const path = file('one.yaml', '- name: x64\n  labels: [linux]\n');
    expect(
      parseConfig({ env: { RUNNER_POOLS_FILE: path, RUNNER_LABELS: 'linux' }, readFile, parseYaml }).notices,
    ).toEqual(["RUNNER_LABELS is ignored: RUNNER_POOLS_FILE is set, and each pool's labels choose the pool"]);
  });

  it('names RUNNER_POOLS_FILE, the pool and the field when a pool in the file is bad', () => {
    const path = file('bad-pool.yaml', '- name: x64\n  labels: [linux]\n- name: arm64\n  labels: []\n');
    expect(messageOf({ RUNNER_POOLS_FILE: path })).toBe(
      'RUNNER_POOLS_FILE: pool "arm64" (index 1): labels: needs at least one label',
    );
  });

  it.each([
    { name: 'missing.yaml', text: undefined, message: /^RUNNER_POOLS_FILE: cannot read .*missing\.yaml \(ENOENT\)$/ },
    {
      name: 'flow.yaml',
      text: '- name: x64\n  labels: [linux\n',
      message: /^RUNNER_POOLS_FILE: .*flow\.yaml is not valid YAML \(.+ at line \d+, column \d+\)$/,
    },
    {
      name: 'dup.yaml',
      text: '- name: x64\n  name: arm64\n',
      message: /^RUNNER_POOLS_FILE: .*dup\.yaml is not valid YAML \(Map keys must be unique at line 2, column 3\)$/,
    },
    {
      name: 'alias.yaml',
      text: '- *nothing\n',
      message: /^RUNNER_POOLS_FILE: .*alias\.yaml is not valid YAML \(.+\)$/,
    },
    { name: 'bad.json', text: '[{"name": "x64"', message: /^RUNNER_POOLS_FILE: .*bad\.json is not valid JSON \(.+\)$/ },
    {
      name: 'map.yaml',
      text: 'x64:\n  labels: [linux]\n',
      message: /^RUNNER_POOLS_FILE: must be a list \(JSON array\) of pools$/,
    },
    { name: 'empty.yaml', text: '', message: /^RUNNER_POOLS_FILE: must be a list \(JSON array\) of pools$/ },
  ])('stops start-up with one clear line for $name', ({ name, text, message }) => {
    const path = text === undefined ? join(dir, name) : file(name, text);
    const got = messageOf({ RUNNER_POOLS_FILE: path });
    expect(got.split('\n')).toHaveLength(1);
    expect(got).toMatch(message);
  });

  it('refuses RUNNER_POOLS and RUNNER_POOLS_FILE together', () => {
    expect(messageOf({ ...pools([x64]), RUNNER_POOLS_FILE: file('both.yaml', '- name: x\n  labels: [y]\n') })).toBe(
      'RUNNER_POOLS_FILE: set either RUNNER_POOLS or RUNNER_POOLS_FILE, not both',
    );
  });

  it('is read in local mode only: a Lambda gets its pools in RUNNER_POOLS', () => {
    const env = {
      ...app,
      LAUNCHER: 'codebuild',
      CODEBUILD_PROJECT_NAME: 'runners',
      RUNNER_POOLS_FILE: '/var/task/pools.yaml',
    };
    expect(messageOf(env, {}, 'lambda')).toBe(
      'RUNNER_POOLS_FILE: is read in local mode only; a deployment passes the pools in RUNNER_POOLS',
    );
    const lambda = parseConfig({ env: { ...env, RUNNER_POOLS_FILE: '', ...pools([x64]) } }, 'lambda');
    expect(lambda.pools).toEqual([{ ...x64, launcher: 'codebuild', runnerVersion: DEFAULT_RUNNER_VERSION }]);
  });
});
