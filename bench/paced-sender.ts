import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Delivery, DeliveryKind } from './deliveries.ts';

export interface PacedPlan {
  /** `http://host:port/webhook` */
  url: string;
  /** Deliveries per second, evenly spaced (open loop: the next one goes out on time whatever the answers). */
  rate: number;
  /** Deliveries to send, warm-up included. */
  count: number;
  /** The first `warmup` deliveries are sent but not measured. */
  warmup?: number;
  /** More answers outstanding than this: the server cannot keep up, the delivery is counted as dropped. */
  maxInFlight?: number;
}

export interface Answer {
  kind: DeliveryKind;
  jobId: number;
  /** `performance.now()` of this process when the request was written. */
  sentAt: number;
  latencyMs: number;
  status: number;
  message: string;
}

export interface PacedResult {
  /** Latency of each measured delivery (ms), in answer order. */
  latencies: number[];
  statuses: Record<string, number>;
  kinds: Record<string, number>;
  /** Jobs the server answered `job queued` for (first sight of a served job). */
  queuedJobIds: number[];
  /** Every new served job sent (warm-up included): each must be launched exactly once. */
  servedJobIds: number[];
  /** Measured deliveries answered 202. */
  accepted: number;
  /** Not sent because too many were outstanding. */
  dropped: number;
  /** Transport errors (connection refused/reset). */
  errors: number;
  /** From the first measured send to the last measured answer. */
  measuredMs: number;
}

/** One request over a keep-alive agent; resolves with the answer (never rejects: errors are status 0). */
export function post(agent: Agent, url: URL, delivery: Delivery, onSent?: (sentAt: number) => void): Promise<Answer> {
  return new Promise((resolve) => {
    const sentAt = performance.now();
    onSent?.(sentAt);
    const done = (status: number, message: string) =>
      resolve({
        kind: delivery.kind,
        jobId: delivery.jobId,
        sentAt,
        latencyMs: performance.now() - sentAt,
        status,
        message,
      });
    const req = request(
      {
        agent,
        method: 'POST',
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: { ...delivery.headers, 'content-length': String(Buffer.byteLength(delivery.body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let message = '';
          try {
            message = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message?: unknown }).message);
          } catch {
            message = 'unparsable answer';
          }
          done(res.statusCode ?? 0, message);
        });
        res.on('error', () => done(0, 'response error'));
      },
    );
    req.on('error', (error) => done(0, error.message));
    req.end(delivery.body);
  });
}

export function keepAliveAgent(maxSockets = 512): Agent {
  return new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

/**
 * Sends `plan.count` deliveries from `next()` at a steady `plan.rate`, open loop. Latency is measured
 * from writing the request to the end of the answer, per delivery.
 */
export async function sendPaced(
  plan: PacedPlan,
  next: () => Delivery,
  options: { agent?: Agent; onAnswer?: (answer: Answer) => void } = {},
): Promise<PacedResult> {
  const url = new URL(plan.url);
  const agent = options.agent ?? keepAliveAgent();
  const warmup = plan.warmup ?? 0;
  const maxInFlight = plan.maxInFlight ?? 2_000;
  const intervalMs = 1000 / plan.rate;
  const result: PacedResult = {
    latencies: [],
    statuses: {},
    kinds: {},
    queuedJobIds: [],
    servedJobIds: [],
    accepted: 0,
    dropped: 0,
    errors: 0,
    measuredMs: 0,
  };
  let inFlight = 0;
  let sent = 0;
  let firstMeasured = Number.NaN;
  let lastAnswer = 0;
  const answers: Promise<void>[] = [];

  const start = performance.now();
  await new Promise<void>((resolveAll) => {
    const tick = () => {
      const due = Math.min(plan.count, Math.floor((performance.now() - start) / intervalMs) + 1);
      while (sent < due) {
        const index = sent++;
        const measured = index >= warmup;
        const delivery = next();
        result.kinds[delivery.kind] = (result.kinds[delivery.kind] ?? 0) + 1;
        if (delivery.kind === 'served') result.servedJobIds.push(delivery.jobId);
        if (inFlight >= maxInFlight) {
          if (measured) result.dropped++;
          continue;
        }
        inFlight++;
        answers.push(
          post(agent, url, delivery, (sentAt) => {
            if (measured && Number.isNaN(firstMeasured)) firstMeasured = sentAt;
          }).then((answer) => {
            inFlight--;
            options.onAnswer?.(answer);
            if (answer.status === 202 && answer.message === 'job queued') result.queuedJobIds.push(answer.jobId);
            if (!measured) return;
            lastAnswer = Math.max(lastAnswer, answer.sentAt + answer.latencyMs);
            result.latencies.push(answer.latencyMs);
            result.statuses[String(answer.status)] = (result.statuses[String(answer.status)] ?? 0) + 1;
            if (answer.status === 0) result.errors++;
            if (answer.status === 202) result.accepted++;
          }),
        );
      }
      if (sent < plan.count) {
        setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
      } else {
        resolveAll();
      }
    };
    tick();
  });
  await Promise.all(answers);
  result.measuredMs = lastAnswer - firstMeasured;
  if (!options.agent) agent.destroy();
  return result;
}
