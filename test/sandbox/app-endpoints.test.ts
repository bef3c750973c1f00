import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import { validateResponse } from './helpers/openapi.ts';
import { appJwt, call } from './helpers/sim-api.ts';

let sim: GitHubSimulator;
const jwt = () => `Bearer ${appJwt(sim.appId, sim.privateKey)}`;
const secret = 'a-webhook-secret-of-the-sandbox-0123456789';

beforeAll(async () => {
  sim = await startGitHubSimulator({});
  sim.configureWebhook({ url: 'http://127.0.0.1:9/webhook', secret });
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.clearAppFault();
});

function expectValid(result: { valid: boolean; errors: string }) {
  expect(result.errors).toBe('');
  expect(result.valid).toBe(true);
}

describe('GitHub simulator: the App endpoints doctor reads', () => {
  it('answers GET /app with the App, its permissions and workflow_job, OpenAPI-valid', async () => {
    const answer = await call(sim, 'GET', '/app', { auth: jwt() });
    expect(answer.status).toBe(200);
    expectValid(validateResponse('GET', '/app', 200, answer.body));
    const app = answer.body as { id: number; slug: string; events: string[]; permissions: Record<string, string> };
    expect(app.id).toBe(sim.appId);
    expect(app.slug).toBe('jit-runners-sandbox');
    expect(app.events).toEqual(['workflow_job']);
    expect(app.permissions).toMatchObject({ administration: 'write', actions: 'read' });
  });

  it("answers GET /app/installations with each installation's account and permissions, OpenAPI-valid", async () => {
    const answer = await call(sim, 'GET', '/app/installations', { auth: jwt() });
    expectValid(validateResponse('GET', '/app/installations', 200, answer.body));
    const [installation] = answer.body as { account: { login: string }; permissions: Record<string, string> }[];
    expect(installation?.account.login).toBe('octo-org');
    expect(installation?.permissions).toMatchObject({ administration: 'write', actions: 'read' });
  });

  it('answers GET /app/hook/config with the URL, json and the secret masked, OpenAPI-valid', async () => {
    const answer = await call(sim, 'GET', '/app/hook/config', { auth: jwt() });
    expectValid(validateResponse('GET', '/app/hook/config', 200, answer.body));
    expect(answer.body).toEqual({
      url: 'http://127.0.0.1:9/webhook',
      content_type: 'json',
      insecure_ssl: '0',
      secret: '********',
    });
    expect(JSON.stringify(answer.body)).not.toContain(secret);
  });

  it('sends a Date header on every REST answer, offset by the clockSkewSeconds fault', async () => {
    const plain = await call(sim, 'GET', '/app', { auth: jwt() });
    expect(Math.abs(Date.parse(plain.headers.get('date') ?? '') - Date.now())).toBeLessThan(2_000);
    sim.setAppFault({ clockSkewSeconds: 600 });
    const refused = await call(sim, 'GET', '/app/hook/deliveries', {});
    expect(refused.status).toBe(401);
    expect(Date.parse(refused.headers.get('date') ?? '') - Date.now()).toBeGreaterThan(598_000);
  });

  it('refuses every App JWT with 401 under the wrongKey fault, and judges JWTs by the skewed clock', async () => {
    sim.setAppFault({ wrongKey: true });
    const refused = await call(sim, 'GET', '/app', { auth: jwt() });
    expect(refused.status).toBe(401);
    expect((refused.body as { message: string }).message).toBe('A JSON web token could not be decoded');
    // GitHub 10 minutes ahead: a JWT issued now by this clock has expired by GitHub's.
    sim.setAppFault({ clockSkewSeconds: 600 });
    const expired = await call(sim, 'GET', '/app', { auth: jwt() });
    expect(expired.status).toBe(401);
    expect((expired.body as { message: string }).message).toMatch(/'Expiration time' claim/);
  });

  it('answers another webhook URL and App events under the faults, settable through the control API', async () => {
    const put = await fetch(`${sim.url}/_sim/app-faults`, {
      method: 'PUT',
      body: JSON.stringify({ webhookUrl: 'https://elsewhere.example/webhook', events: ['push'] }),
    });
    expect(put.status).toBe(200);
    expect(sim.appFault()).toEqual({ webhookUrl: 'https://elsewhere.example/webhook', events: ['push'] });
    const config = await call(sim, 'GET', '/app/hook/config', { auth: jwt() });
    expect((config.body as { url: string }).url).toBe('https://elsewhere.example/webhook');
    const app = await call(sim, 'GET', '/app', { auth: jwt() });
    expect((app.body as { events: string[] }).events).toEqual(['push']);
    const bad = await fetch(`${sim.url}/_sim/app-faults`, { method: 'PUT', body: JSON.stringify({ wrongKey: 'yes' }) });
    expect(bad.status).toBe(400);
    expect((await fetch(`${sim.url}/_sim/app-faults`, { method: 'DELETE' })).status).toBe(204);
    expect(sim.appFault()).toEqual({});
  });
});
