import { randomInt, randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';
import type { SimDelivery } from './sim-types.ts';

export interface WebhookTarget {
  url: string;
  /** Secret: signs deliveries, never logged. */
  secret: string;
}

interface StoredDelivery extends SimDelivery {
  /** Exact body sent, kept for redelivery (GitHub redelivers the same payload under the same guid). */
  body: string;
}

export interface WebhookSenderOptions {
  appId: number;
  hookId: number;
  timeoutMs?: number;
  now?: () => number;
}

const MAX_KEPT = 5_000;

/** Delivers signed webhooks the way GitHub's hookshot does and keeps the delivery log of the App. */
export class WebhookSender {
  private target: WebhookTarget | undefined;
  private urlOverride: string | undefined;
  private readonly deliveries: StoredDelivery[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private nextId = 90_000_000_000 + randomInt(1_000_000) * 1_000;

  constructor(private readonly options: WebhookSenderOptions) {}

  configure(target: WebhookTarget | undefined): void {
    this.target = target ? { ...target } : undefined;
  }

  get configured(): boolean {
    return this.target !== undefined;
  }

  /** The URL deliveries go to (the override when set), as `GET /app/hook/config` shows it; undefined when none. */
  get url(): string | undefined {
    return this.target ? (this.urlOverride ?? this.target.url) : undefined;
  }

  /** Sends deliveries to `url` instead of the configured one (the doctor's wrong-URL fault); undefined restores it. */
  overrideUrl(url: string | undefined): void {
    this.urlOverride = url;
  }

  /**
   * Sends one event. Deliveries sharing `orderKey` (one job) go out one after the other, so a receiver
   * sees `in_progress` before `completed`; different jobs are delivered concurrently.
   */
  deliver(
    event: string,
    payload: Record<string, unknown>,
    meta: { installationId: number | null; repositoryId: number | null; orderKey: string },
  ): void {
    if (!this.target) return;
    const body = JSON.stringify(payload);
    const action = typeof payload.action === 'string' ? payload.action : null;
    const run = () => this.send({ event, action, body, guid: randomUUID(), redelivery: false, ...meta });
    const previous = this.chains.get(meta.orderKey) ?? Promise.resolve();
    const next = previous.then(run, run);
    this.chains.set(meta.orderKey, next);
    this.track(next);
    void next.finally(() => {
      if (this.chains.get(meta.orderKey) === next) this.chains.delete(meta.orderKey);
    });
  }

  /** `POST /app/hook/deliveries/{id}/attempts`: re-sends the stored body under the same guid. */
  redeliver(id: number): boolean {
    const original = this.deliveries.find((d) => d.id === id);
    if (!original || !this.target) return false;
    this.track(
      this.send({
        event: original.event,
        action: original.action,
        body: original.body,
        guid: original.guid,
        redelivery: true,
        installationId: original.installationId,
        repositoryId: original.repositoryId,
      }),
    );
    return true;
  }

  /** Newest first, like `GET /app/hook/deliveries`. */
  list(): SimDelivery[] {
    return this.deliveries
      .slice()
      .reverse()
      .map(({ body: _body, ...d }) => d);
  }

  /** Resolves once every delivery started so far has been answered (or failed). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async send(d: {
    event: string;
    action: string | null;
    body: string;
    guid: string;
    redelivery: boolean;
    installationId: number | null;
    repositoryId: number | null;
  }): Promise<void> {
    const target = this.target;
    if (!target) return;
    const now = this.options.now ?? Date.now;
    const started = now();
    let statusCode = 0;
    let status = 'failed to connect to host';
    try {
      const response = await fetch(this.urlOverride ?? target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/sandbox',
          'x-github-event': d.event,
          'x-github-delivery': d.guid,
          'x-github-hook-id': String(this.options.hookId),
          'x-github-hook-installation-target-type': 'integration',
          'x-github-hook-installation-target-id': String(this.options.appId),
          'x-hub-signature-256': await sign(target.secret, d.body),
        },
        body: d.body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      await response.arrayBuffer().catch(() => undefined);
      statusCode = response.status;
      status = response.ok ? 'OK' : `Invalid HTTP Response: ${response.status}`;
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') status = 'timed out';
    }
    const record: StoredDelivery = {
      id: this.nextId++,
      guid: d.guid,
      deliveredAt: new Date(started).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      redelivery: d.redelivery,
      duration: Math.max(0, (now() - started) / 1000),
      status,
      statusCode,
      event: d.event,
      action: d.action,
      installationId: d.installationId,
      repositoryId: d.repositoryId,
      body: d.body,
    };
    this.deliveries.push(record);
    if (this.deliveries.length > MAX_KEPT) this.deliveries.shift();
  }
}
