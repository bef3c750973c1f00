import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../../../functions/adapters/github/github-client.ts';
import { rotatingKeyGitHub } from '../../../functions/adapters/github/rotating-key-github.ts';
import type { GitHubPort, GitHubTarget } from '../../../functions/ports/github.ts';
import { type FakeGitHubApi, MINTED, startFakeGitHubApi } from '../../handlers/fake-github-api.ts';

const TARGET: GitHubTarget = { installationId: 5, scope: { kind: 'repo', owner: 'octo', repo: 'app' } };
const pem = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

describe('the GitHub client tells every minted secret as it arrives (onSecret)', () => {
  let github: FakeGitHubApi;
  beforeAll(async () => {
    github = await startFakeGitHubApi();
  });
  afterAll(async () => {
    await github.close();
  });

  it('hands over the installation token auth-app mints, the JIT config and the registration token', async () => {
    const told: string[] = [];
    const client = createGitHubClient({
      appId: 1,
      privateKey: pem(),
      apiUrl: github.url,
      onSecret: (value) => told.push(value),
    });
    await client.listRunners(TARGET);
    expect(told).toEqual([MINTED.installationToken]);
    const jit = await client.generateJitConfig(TARGET, {
      name: 'jr-1-1',
      labels: ['x64'],
      runnerGroupId: 1,
      workFolder: '_work',
    });
    const token = await client.createRegistrationToken(TARGET);
    expect(told).toEqual([MINTED.installationToken, jit.encodedJitConfig, token.token]);
    expect(told.slice(1)).toEqual([MINTED.jitConfig, MINTED.registrationToken]);
  });
});

describe('rotatingKeyGitHub', () => {
  it('builds a new client when the key changes, and keeps the one it has while it does not', async () => {
    let key = 'key-1';
    const built: string[] = [];
    const port = rotatingKeyGitHub(
      async () => key,
      (k) => {
        built.push(k);
        return {
          listRunners: async () => [{ id: built.length, name: k, status: 'online', busy: false, labels: [] }],
        } as unknown as GitHubPort;
      },
    );
    expect((await port.listRunners(TARGET))[0]?.name).toBe('key-1');
    expect((await port.listRunners(TARGET))[0]?.name).toBe('key-1');
    key = 'key-2';
    expect((await port.listRunners(TARGET))[0]?.name).toBe('key-2');
    expect(built).toEqual(['key-1', 'key-2']);
  });
});
