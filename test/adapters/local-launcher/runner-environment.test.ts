import { describe, expect, it } from 'vitest';
import {
  assertSafeExtraEnvironment,
  DEFAULT_PATH,
  runnerEnvironment,
} from '../../../functions/adapters/local/runner-environment.ts';
import { LaunchConfigError } from '../../../functions/ports/launcher.ts';

describe('runnerEnvironment', () => {
  const parent = {
    PATH: '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    GITHUB_APP_PRIVATE_KEY: 'pem',
    AWS_SECRET_ACCESS_KEY: 'aws',
    USER: 'root',
  };

  it('takes only PATH and LANG from the parent', () => {
    const env = runnerEnvironment({ home: '/w/r', tmpDir: '/w/r/_tmp', runnerVersion: '2.330.0', parent });
    expect(env).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/w/r',
      LANG: 'en_US.UTF-8',
      TMPDIR: '/w/r/_tmp',
      RUNNER_ALLOW_RUNASROOT: '1',
      RUNNER_VERSION: '2.330.0',
    });
  });

  it('falls back to a standard PATH and C.UTF-8 when the parent has none', () => {
    const env = runnerEnvironment({ home: '/h', tmpDir: '/t', runnerVersion: '2.330.0', parent: {} });
    expect(env.PATH).toBe(DEFAULT_PATH);
    expect(env.LANG).toBe('C.UTF-8');
  });

  it('lets the request version and the secrets win over extra variables', () => {
    const env = runnerEnvironment({
      home: '/h',
      tmpDir: '/t',
      runnerVersion: '2.331.0',
      parent,
      extra: { RUNNER_VERSION: '2.300.0', HTTPS_PROXY: 'http://p:1' },
      secrets: { ACTIONS_RUNNER_INPUT_JITCONFIG: 'cfg' },
    });
    expect(env.RUNNER_VERSION).toBe('2.331.0');
    expect(env.HTTPS_PROXY).toBe('http://p:1');
    expect(env.ACTIONS_RUNNER_INPUT_JITCONFIG).toBe('cfg');
  });
});

describe('assertSafeExtraEnvironment', () => {
  it('accepts ordinary settings', () => {
    expect(() =>
      assertSafeExtraEnvironment({ RUNNER_VERSION: '2.330.0', HTTPS_PROXY: 'x', NO_PROXY: 'y' }),
    ).not.toThrow();
  });

  it.each([
    'AWS_ACCESS_KEY_ID',
    'aws_profile',
    'GITHUB_APP_PRIVATE_KEY',
    'GITHUB_APP_PRIVATE_KEY_FILE',
    'GITHUB_WEBHOOK_SECRET',
    'ACTIONS_RUNNER_INPUT_TOKEN',
    'NPM_TOKEN',
    'DB_PASSWORD',
    'bad name',
  ])('refuses %s', (name) => {
    expect(() => assertSafeExtraEnvironment({ [name]: 'value' })).toThrow(LaunchConfigError);
  });
});
