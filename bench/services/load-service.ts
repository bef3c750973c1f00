import { serveParent } from '../child-service.ts';
import {
  type Delivery,
  DeliveryFactory,
  type DeliveryFactoryOptions,
  type DeliveryKind,
  DeliveryMix,
} from '../deliveries.ts';
import { type Answer, keepAliveAgent, type PacedPlan, type PacedResult, post, sendPaced } from '../paced-sender.ts';
import { type LatencySummary, summarize } from '../stats.ts';

/** Helper process: the load generator (GitHub's hookshot), on its own core so it does not slow the server. */
export interface PacedRequest {
  factory: DeliveryFactoryOptions;
  plan: PacedPlan;
  pattern: DeliveryKind[];
  firstJobId: number;
  /** Answer a summary instead of every latency (large runs). */
  summaryOnly?: boolean;
}

export type PacedAnswer = Omit<PacedResult, 'latencies'> & { latencies?: number[]; summary: LatencySummary };

export interface BurstRequest {
  factory: DeliveryFactoryOptions;
  url: string;
  firstJobId: number;
  count: number;
}

export interface BurstAnswer {
  statuses: Record<string, number>;
  queuedJobIds: number[];
  /** From the first request written to the last answer. */
  answeredMs: number;
  summary: LatencySummary;
}

let prepared: { url: URL; deliveries: Delivery[] } | undefined;

serveParent(
  {},
  {
    async paced(request: PacedRequest): Promise<PacedAnswer> {
      const mix = new DeliveryMix(new DeliveryFactory(request.factory), request.pattern, request.firstJobId);
      const result = await sendPaced(request.plan, () => mix.next());
      const summary = summarize(result.latencies);
      if (request.summaryOnly) {
        const { latencies: _, ...rest } = result;
        return { ...rest, summary };
      }
      return { ...result, summary };
    },

    /** Signs the burst's deliveries ahead of `fireBurst`: the burst is about the server, not about our HMACs. */
    prepareBurst(request: BurstRequest): void {
      const factory = new DeliveryFactory(request.factory);
      prepared = {
        url: new URL(request.url),
        deliveries: Array.from({ length: request.count }, (_, i) => factory.delivery('served', request.firstJobId + i)),
      };
    },

    async fireBurst(): Promise<BurstAnswer> {
      if (!prepared) throw new Error('prepareBurst first');
      const { url, deliveries } = prepared;
      prepared = undefined;
      const agent = keepAliveAgent(256);
      const started = performance.now();
      const answers: Answer[] = await Promise.all(deliveries.map((d) => post(agent, url, d)));
      const answeredMs = performance.now() - started;
      agent.destroy();
      const statuses: Record<string, number> = {};
      for (const a of answers) statuses[String(a.status)] = (statuses[String(a.status)] ?? 0) + 1;
      return {
        statuses,
        queuedJobIds: answers.filter((a) => a.status === 202 && a.message === 'job queued').map((a) => a.jobId),
        answeredMs,
        summary: summarize(answers.map((a) => a.latencyMs)),
      };
    },
  },
  async () => {},
);
