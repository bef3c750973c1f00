import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalHttpServer, startLocalHttpServer } from '../../../functions/adapters/local/http-server.ts';
import { type CommandIo, runFleetCommand } from '../../../functions/cli/fleet-commands.ts';
import { formatBaselines } from '../../../functions/cli/fleet-format.ts';
import { createLocalFleetClient } from '../../../functions/cli/local-fleet-client.ts';
import type { Config } from '../../../functions/config/config.ts';
import { type BaselineAdmin, createBaselineAdmin } from '../../../functions/use-cases/admin/baseline-admin.ts';
import { answerFleetApi } from '../../../functions/use-cases/admin/fleet-api.ts';
import { baselineView, createFleetView } from '../../../functions/use-cases/admin/fleet-view.ts';
import { createRunWorkaround } from '../../../functions/use-cases/healing/run-workaround.ts';
import { silentLogger } from '../../support/capture-logger.ts';
import { type HealWorld, healWorld, newJob, T0 } from '../healing/heal-fixtures.ts';

describe('baseline admin (jit-runners baseline list|ensure)', () => {
  let w: HealWorld;
  let admin: BaselineAdmin;

  const build = (world: HealWorld) =>
    createBaselineAdmin({
      config: world.config,
      store: world.store,
      github: world.github,
      runWorkaround: createRunWorkaround({
        config: world.config,
        store: world.store,
        github: world.github,
        launcher: world.launcher,
        dispatcher: world.dispatcher,
        scopeGuard: world.scopeGuard,
        clock: world.clock,
        logger: world.logger,
        metrics: world.metrics,
        owner: 'cli-test',
        sleep: world.clock.sleep,
        nonce: () => 'm1',
      }),
    });

  beforeEach(() => {
    w = healWorld();
    admin = build(w);
  });

  describe('ensureBaseline', () => {
    it('answers 400 for text that is not a scope, or a scope of the wrong kind', async () => {
      expect((await admin.ensureBaseline('not a/scope/at all')).status).toBe(400);
      const org = await admin.ensureBaseline('octo');
      expect(org.status).toBe(400);
      expect(org.body.message).toContain('RUNNER_SCOPE is repo');
    });

    it('answers 400 with an explanation when the App is not installed on the scope', async () => {
      w.github.installations.set('someone/else', 9);
      const answer = await admin.ensureBaseline('octo/app');
      expect(answer.status).toBe(400);
      expect(answer.body.message).toContain('not installed on octo/app');
      expect(w.github.calls.map((c) => c.op)).toEqual(['findInstallation']);
    });

    it('asks GitHub for the installation of a scope that has never had a job, then runs the workaround', async () => {
      w.github.installations.set('octo/app', 42);
      const answer = await admin.ensureBaseline('octo/app');
      expect(answer.status).toBe(200);
      expect(w.github.calls[0]).toEqual({ op: 'findInstallation' });
      expect((await w.store.baselines.get('octo/app'))?.installationId).toBe(42);
    });

    it('runs the workaround with method manual, using the installation of a recorded job', async () => {
      await w.store.jobs.create(newJob(1), 'd1', T0);
      const answer = await admin.ensureBaseline('Octo/App');
      expect(answer.status).toBe(200);
      expect(answer.body.message).toBe('baseline recorded for octo/app');
      expect(w.launcher.regular[0]).toMatchObject({
        runnerName: 'jr-baseline-octo-app-m1',
        url: 'https://github.com/Octo/App',
      });
      expect(await w.store.baselines.get('octo/app')).toMatchObject({
        state: 'present',
        method: 'manual',
        installationId: 5,
      });
      // The installation is kept on the baseline: a later ensure works without any job.
      expect((await admin.ensureBaseline('octo/app')).body.message).toContain('already has a baseline (manual)');
    });

    it('answers 502 with the reason when the regular runner never shows online', async () => {
      await w.store.jobs.create(newJob(1), 'd1', T0);
      w.launcher.onlineAfterMs = undefined;
      const answer = await admin.ensureBaseline('octo/app');
      expect(answer.status).toBe(502);
      expect(answer.body.message).toContain('did not show online within 60 s');
    });
  });

  describe('the CLI against the running server', () => {
    let server: LocalHttpServer;
    let out: string;
    let err: string;
    let config: Config;
    const io: CommandIo = {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
    };
    /** `jit-runners baseline list|ensure <scope>` against the server on the configured port. */
    const runBaseline = (c: Config, [sub, scope]: string[]) =>
      runFleetCommand(
        sub === 'ensure' && scope !== undefined ? { command: 'baseline ensure', scope } : { command: 'baseline list' },
        createLocalFleetClient({ port: c.local.port, baselineOnlineSeconds: c.timeouts.baselineOnlineSeconds }),
        { json: false },
        io,
      );

    beforeEach(async () => {
      out = '';
      err = '';
      server = await startLocalHttpServer(
        {
          webhook: async () => ({ status: 404, body: { message: 'not here' } }),
          health: async () => ({ status: 'ok' }),
          baselines: admin.listBaselines,
          ensureBaseline: admin.ensureBaseline,
          api: (path, query) =>
            answerFleetApi(
              createFleetView({ config: w.config, store: w.store, clock: w.clock }),
              path,
              query,
              w.clock.now(),
            ),
        },
        { port: 0, host: '127.0.0.1', logger: silentLogger },
      );
      config = { ...w.config, local: { ...w.config.local, port: server.port } };
    });

    afterEach(async () => {
      await server.close();
    });

    it('ensure registers the scope and list shows its record', async () => {
      await w.store.jobs.create(newJob(1), 'd1', T0);
      expect(await runBaseline(config, ['ensure', 'octo/app'])).toBe(0);
      expect(out).toContain('baseline recorded for octo/app');

      out = '';
      expect(await runBaseline(config, ['list'])).toBe(0);
      const [header, row] = out.trimEnd().split('\n');
      expect(header).toMatch(/^SCOPE\s+STATE\s+METHOD\s+RUNNER\s+VERIFIED ONLINE\s+WORKAROUNDS\s+NOTE$/);
      expect(row).toMatch(/^octo\/app\s+present\s+manual\s+jr-baseline-octo-app-m1\s+2023-11-14 22:13:20Z\s+0$/);
    });

    it('exits 2 with the explanation when the server answers 400', async () => {
      w.github.installations.set('someone/else', 9);
      expect(await runBaseline(config, ['ensure', 'octo/app'])).toBe(2);
      expect(err).toContain('installation');
    });

    it('exits 1 with a hint when no server answers', async () => {
      await server.close();
      expect(await runBaseline(config, ['list'])).toBe(1);
      expect(err).toContain('no server answers');
      server = await startLocalHttpServer(
        { webhook: async () => ({ status: 404, body: { message: '' } }), health: async () => ({}) },
        { port: 0, host: '127.0.0.1', logger: silentLogger },
      );
    });
  });

  it('formats an empty list and a healing record', () => {
    expect(formatBaselines([])).toBe('no baseline records yet\n');
    const text = formatBaselines([
      baselineView({
        scopeKey: 'octo/app',
        state: 'healing',
        healingUntil: T0,
        workarounds: 1,
        updatedAt: T0,
        version: 1,
      }),
    ]);
    expect(text).toContain('healing until 2023-11-14 22:13:20Z');
  });
});
