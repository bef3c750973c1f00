import type { IncomingMessage, ServerResponse } from 'node:http';
import { scopeKey as toScopeKey } from '../../domain/scope.ts';
import { credentialsFile } from './jit-config.ts';
import { errorBody } from './openapi-shapes.ts';
import type { SimContext } from './sim-context.ts';
import { bearer, compileRoute, matchRoute, parseJson, type Reply, writeReply } from './sim-http.ts';
import type { SimJob, SimRunner } from './sim-types.ts';

/**
 * The runner side of the simulator: the `config.sh` registration exchange and the message broker the
 * sample runner long-polls (a much simplified stand-in for `broker.actions.githubusercontent.com`).
 *
 *   POST   /actions/runner-registration   RemoteAuth <registration|remove token>  → tenant token
 *   POST   /_broker/agents                Bearer <tenant>   register a regular runner
 *   DELETE /_broker/agents/{id}           Bearer <tenant>   `config.sh remove`
 *   POST   /_broker/sessions              Bearer <runner credential>   → session (runner online)
 *   DELETE /_broker/sessions/{id}
 *   POST   /_broker/message               long poll: 200 job | 204 nothing | 400 BadRequest (metadata) | 404 gone
 *   POST   /_broker/jobs/{id}/renew | /complete
 */

interface Waiter {
  runner: SimRunner;
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

export interface BrokerOptions {
  /** How long a message poll is held open when there is no job. */
  pollMs: number;
  /** Delay the broker asks a runner to wait after a BadRequest. */
  badRequestRetryMs: number;
}

const R = {
  registration: compileRoute('POST', '/actions/runner-registration'),
  addAgent: compileRoute('POST', '/_broker/agents'),
  removeAgent: compileRoute('DELETE', '/_broker/agents/{id}'),
  openSession: compileRoute('POST', '/_broker/sessions'),
  closeSession: compileRoute('DELETE', '/_broker/sessions/{id}'),
  message: compileRoute('POST', '/_broker/message'),
  renew: compileRoute('POST', '/_broker/jobs/{id}/renew'),
  complete: compileRoute('POST', '/_broker/jobs/{id}/complete'),
};

const brokerError = (status: number, code: string, message: string): Reply => ({
  status,
  body: { code, message },
});

function jobMessage(job: SimJob) {
  return {
    messageType: 'RunnerJobRequest',
    jobId: job.id,
    jobName: job.name,
    repository: `${job.owner}/${job.repo}`,
    durationMs: job.durationMs,
  };
}

const CONCLUSIONS: Record<string, string> = {
  Succeeded: 'success',
  Failed: 'failure',
  Canceled: 'cancelled',
};

export class Broker {
  private readonly waiters = new Set<Waiter>();
  /** Sessions opened, oldest first: which runner (by the credential it presented) and when (epoch ms). */
  readonly sessions: { runnerName: string; at: number }[] = [];

  constructor(
    private readonly ctx: SimContext,
    private readonly options: BrokerOptions,
  ) {
    ctx.world.on('queued', () => this.offerJobs());
    ctx.world.on('runnerDeleted', (runner) => {
      for (const w of this.waiters) {
        if (w.runner === runner)
          this.answer(w, brokerError(404, 'RunnerNotFound', 'The runner no longer exists on the server.'));
      }
    });
  }

  /** Ends every held poll (server shutdown). */
  close(): void {
    for (const w of this.waiters) this.answer(w, { status: 204 });
  }

  /** Handles a runner-side request; false when the path is not the broker's. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, bodyText: string): boolean {
    const method = req.method ?? 'GET';
    const reply = (r: Reply) => writeReply(res, r);
    let body: Record<string, unknown>;
    try {
      const parsed = parseJson(bodyText);
      body = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
    } catch {
      body = {};
    }

    if (matchRoute(R.registration, method, path)) {
      reply(this.registration(req, body));
      return true;
    }
    if (matchRoute(R.addAgent, method, path)) {
      reply(this.addAgent(req, body));
      return true;
    }
    const remove = matchRoute(R.removeAgent, method, path);
    if (remove) {
      reply(this.removeAgent(req, Number(remove.id)));
      return true;
    }
    if (!path.startsWith('/_broker/')) return false;

    const credential = bearer(req, 'bearer');
    const runner = credential ? this.ctx.world.runnerByCredential(credential) : undefined;
    if (!runner) {
      reply(
        brokerError(
          404,
          'RunnerNotFound',
          'The runner registration has been deleted from the server, please re-configure.',
        ),
      );
      return true;
    }
    if (matchRoute(R.openSession, method, path)) {
      reply(this.openSession(runner, body));
      return true;
    }
    const close = matchRoute(R.closeSession, method, path);
    if (close) {
      this.ctx.world.closeSession(runner, close.id);
      reply({ status: 204 });
      return true;
    }
    if (matchRoute(R.message, method, path)) {
      this.poll(runner, body, req, res);
      return true;
    }
    const renew = matchRoute(R.renew, method, path);
    if (renew) {
      this.ctx.world.touch(runner);
      reply(
        runner.jobId === Number(renew.id)
          ? { status: 200, body: {} }
          : brokerError(404, 'JobNotFound', 'job not found'),
      );
      return true;
    }
    const complete = matchRoute(R.complete, method, path);
    if (complete) {
      const conclusion = CONCLUSIONS[String(body.result)] ?? 'failure';
      this.ctx.world.touch(runner);
      const done = this.ctx.world.completeJob(runner, Number(complete.id), conclusion);
      reply(done ? { status: 200, body: {} } : brokerError(404, 'JobNotFound', 'job not found'));
      return true;
    }
    reply(brokerError(404, 'NotFound', 'Not Found'));
    return true;
  }

  private registration(req: IncomingMessage, body: Record<string, unknown>): Reply {
    const token = bearer(req, 'RemoteAuth');
    let scopeKey: string | undefined;
    try {
      const url = new URL(String(body.url));
      const parts = url.pathname.split('/').filter(Boolean);
      if (parts.length === 1 || parts.length === 2) scopeKey = parts.join('/').toLowerCase();
    } catch {
      scopeKey = undefined;
    }
    const tenant = token && scopeKey ? this.ctx.world.exchangeRunnerToken(token, scopeKey) : undefined;
    const reply: Reply = tenant
      ? { status: 200, body: { url: `${this.ctx.url()}/_broker`, token: tenant, token_schema: 'OAuthAccessToken' } }
      : { status: 404, body: errorBody(404, 'Not Found') };
    this.ctx.record({
      method: 'POST',
      path: '/actions/runner-registration',
      endpoint: 'POST /actions/runner-registration',
      scopeKey,
      status: reply.status,
      body: { url: body.url, runner_event: body.runner_event },
    });
    return reply;
  }

  private addAgent(req: IncomingMessage, body: Record<string, unknown>): Reply {
    const tenant = this.ctx.world.tenant(bearer(req, 'bearer') ?? '');
    if (!tenant) return brokerError(401, 'Unauthorized', 'Bad credentials');
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    if (!name) return brokerError(400, 'BadRequest', 'a runner name is required');
    const labels = Array.isArray(body.labels) ? body.labels.filter((l): l is string => typeof l === 'string') : [];
    const runner = this.ctx.world.registerRunner({
      scope: tenant.scope,
      name,
      labels,
      runnerGroupId: 1,
      ephemeral: body.ephemeral === true,
      jit: false,
      replace: body.replace === true,
      noDefaultLabels: body.noDefaultLabels === true,
      version: typeof body.version === 'string' ? body.version : undefined,
    });
    if (runner === 'name-taken') {
      return brokerError(409, 'RunnerExists', `A runner exists with the same name ${name}.`);
    }
    return {
      status: 201,
      body: {
        id: runner.id,
        name: runner.name,
        labels: runner.labels,
        poolId: 1,
        poolName: 'Default',
        credentials: credentialsFile(`${this.ctx.url()}/_broker`, runner.credential),
      },
    };
  }

  private removeAgent(req: IncomingMessage, id: number): Reply {
    const tenant = this.ctx.world.tenant(bearer(req, 'bearer') ?? '');
    if (!tenant) return brokerError(401, 'Unauthorized', 'Bad credentials');
    const runner = this.ctx.world.runner(toScopeKey(tenant.scope), id);
    if (!runner) return brokerError(404, 'RunnerNotFound', 'The runner no longer exists on the server.');
    this.ctx.world.deleteRunner(runner);
    return { status: 204 };
  }

  private openSession(runner: SimRunner, body: Record<string, unknown>): Reply {
    const version = typeof body.version === 'string' ? body.version : undefined;
    if (this.ctx.world.versionRefused(runner, version)) {
      return brokerError(
        400,
        'VersionDeprecated',
        `Runner version v${version} is deprecated and cannot receive messages.`,
      );
    }
    if (this.ctx.world.hasLiveSession(runner)) {
      return brokerError(409, 'SessionConflict', 'A session for this runner already exists.');
    }
    const sessionId = this.ctx.world.openSession(runner, version);
    this.sessions.push({ runnerName: runner.name, at: Date.now() });
    return { status: 201, body: { sessionId, agent: { id: runner.id, name: runner.name } } };
  }

  private poll(runner: SimRunner, body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse): void {
    const world = this.ctx.world;
    if (!runner.session || runner.session.id !== body.sessionId) {
      writeReply(res, brokerError(401, 'SessionExpired', 'The session has expired; create a new one.'));
      return;
    }
    world.touch(runner);
    // actions/runner#3823: the broker rejects JIT runners of a scope whose runner metadata was never initialised.
    if (world.metadataMissing(runner)) {
      writeReply(res, {
        status: 400,
        body: { code: 'BadRequest', message: 'Bad Request', retryAfterMs: this.options.badRequestRetryMs },
      });
      return;
    }
    const job = world.takeJobFor(runner);
    if (job) {
      writeReply(res, { status: 200, body: jobMessage(job) });
      return;
    }
    const session = runner.session;
    session.polls += 1;
    const waiter: Waiter = {
      runner,
      res,
      timer: setTimeout(() => this.answer(waiter, { status: 204 }), this.options.pollMs),
    };
    this.waiters.add(waiter);
    // A poll whose client went away (process killed) must not keep the runner online.
    req.on('close', () => {
      if (this.waiters.has(waiter)) this.release(waiter);
    });
  }

  private offerJobs(): void {
    for (const w of this.waiters) {
      const job = this.ctx.world.takeJobFor(w.runner);
      if (job) this.answer(w, { status: 200, body: jobMessage(job) });
    }
  }

  private release(w: Waiter): void {
    this.waiters.delete(w);
    clearTimeout(w.timer);
    if (w.runner.session && w.runner.session.polls > 0) w.runner.session.polls -= 1;
    this.ctx.world.touch(w.runner);
  }

  private answer(w: Waiter, reply: Reply): void {
    if (!this.waiters.has(w)) return;
    this.release(w);
    writeReply(w.res, reply);
  }
}
