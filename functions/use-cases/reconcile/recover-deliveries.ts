import { type GitHubPort, GitHubRequestError, type HookDelivery } from '../../ports/github.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Logger, Metrics } from '../../ports/runtime.ts';
import type { LockRepository } from '../../ports/store.ts';

export interface RecoverDeliveriesDeps {
  github: Pick<GitHubPort, 'listHookDeliveries' | 'redeliver'>;
  locks: LockRepository;
  logger: Logger;
  metrics: Metrics;
  /** Pages of 100 read per run at most; a longer backlog resumes from the kept cursor next run. Default 10. */
  maxPages?: number;
  /** Deliveries older than this are not looked at (GitHub keeps them 3 days). Default 3 days. */
  maxAgeMs?: number;
}

export interface DeliveriesReport {
  scanned: number;
  failed: number;
  redelivered: number;
  /** Redelivery requests GitHub refused this run (kept for the next run, within the GUID's budget). */
  errors: number;
  /** Deliveries that failed again after every redelivery their GUID may get. */
  exhausted: number;
  /** True when the backlog was not read to its end (continues next run). */
  more: boolean;
}

/** What the store keeps between runs (`reconcile:deliveries`). */
interface ScanState {
  /** `delivered_at` (ms) of the newest delivery already looked at: the next scan from the head stops near it. */
  newestAt: number;
  /** A scan that ran out of pages: where it goes on, where it stops, and the head it started from. */
  resume?: { cursor: string; stopAt: number; headAt: number };
  /** Claimed redeliveries not sent yet (the request or the store failed): tried again next run. */
  retry?: { id: number; guid: string; tries: number }[];
}

export const DELIVERY_STATE = 'reconcile:deliveries';
/**
 * A redelivery is itself a delivery and may fail too (the server is still down, the store throttles):
 * it is redelivered once as well. At most this many redelivery requests per GUID in all, refused ones
 * included: nothing retries forever.
 */
export const MAX_REDELIVERIES_PER_GUID = 3;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const MARK_TTL_MS = 4 * 24 * 3_600_000;
const DAY_MS = 24 * 3_600_000;
/**
 * How far a scan reads past the previous head. Why: a delivery is listed once answered, so one that was
 * slow (up to GitHub's 10 s) can appear below a head already read; the GUID marks make re-reading safe.
 */
const OVERLAP_MS = 60_000;

/**
 * Which answers say "we never processed it": no answer (0), a timeout, throttling, or a server error.
 * 4xx answers were deliberate (bad signature, bad payload): sending them again cannot help.
 */
export function isFailedDelivery(d: Pick<HookDelivery, 'statusCode'>): boolean {
  return d.statusCode === 0 || d.statusCode === 408 || d.statusCode === 429 || d.statusCode >= 500;
}

function readState(text: string | undefined): ScanState {
  if (!text) return { newestAt: 0 };
  try {
    const parsed = JSON.parse(text) as ScanState;
    return typeof parsed.newestAt === 'number' ? parsed : { newestAt: 0 };
  } catch {
    return { newestAt: 0 };
  }
}

/**
 * Missed webhooks (docs/design.md "Crash safety"): GitHub never retries a failed delivery, so the
 * reconciler reads the App's delivery log (`GET /app/hook/deliveries`, newest first) down to where the
 * previous run stopped (plus a minute of overlap), and asks for each failed `workflow_job` delivery once more.
 *
 * Exactly once: each failed delivery is claimed with a store mark on its id before the request, so a
 * second reconciler or a rerun after a crash never causes a second request for it. A redelivery that
 * fails in turn is a new failed delivery (same GUID, new id) and gets its own single redelivery, up to
 * {@link MAX_REDELIVERIES_PER_GUID} requests per GUID; a GUID that has a successful delivery is left
 * alone. A claimed delivery whose request GitHub refuses, or whose claim hit a store failure, is kept in
 * the stored state and tried again next run (within the same per-GUID budget).
 */
export function createRecoverDeliveries(deps: RecoverDeliveriesDeps) {
  const { github, locks, logger, metrics } = deps;
  const maxPages = deps.maxPages ?? 10;
  const maxAgeMs = deps.maxAgeMs ?? 3 * DAY_MS;

  async function redeliver(id: number, guid: string): Promise<boolean> {
    try {
      await github.redeliver(id);
      return true;
    } catch (error) {
      if (!(error instanceof GitHubRequestError)) throw error;
      logger.warn('redelivery request failed', { deliveryId: id, guid, status: error.status });
      return false;
    }
  }

  /** One of the GUID's `MAX_REDELIVERIES_PER_GUID` redeliveries; false when all are spent. */
  async function claimGuidSlot(guid: string, now: number): Promise<boolean> {
    for (let slot = 1; slot <= MAX_REDELIVERIES_PER_GUID; slot++) {
      if (await locks.mark(`redelivery:${guid}:${slot}`, now, MARK_TTL_MS)) return true;
    }
    return false;
  }

  return async function recoverDeliveries(now: number): Promise<DeliveriesReport> {
    const state = readState(await locks.getValue(DELIVERY_STATE));
    const report: DeliveriesReport = { scanned: 0, failed: 0, redelivered: 0, errors: 0, exhausted: 0, more: false };

    let cursor = state.resume?.cursor;
    const stopAt = Math.max(state.resume?.stopAt ?? state.newestAt - OVERLAP_MS, now - maxAgeMs);
    let headAt = state.resume?.headAt ?? state.newestAt;
    const seen: HookDelivery[] = [];
    let finished = false;
    for (let page = 0; page < maxPages && !finished; page++) {
      const { deliveries, next } = await github.listHookDeliveries(cursor);
      for (const d of deliveries) {
        const parsed = Date.parse(d.deliveredAt);
        const at = Number.isFinite(parsed) ? parsed : now;
        if (at < stopAt) {
          finished = true;
          break;
        }
        headAt = Math.max(headAt, at);
        seen.push(d);
      }
      cursor = next;
      if (!cursor) finished = true;
    }
    report.scanned = seen.length;

    // Newest answer per GUID decides: a later success (GitHub's own or a manual redelivery) settles it.
    const succeeded = new Set(seen.filter((d) => !isFailedDelivery(d)).map((d) => d.guid));
    const failedByGuid = new Map<string, HookDelivery>();
    for (const d of seen) {
      if (d.event !== 'workflow_job' || !isFailedDelivery(d) || succeeded.has(d.guid)) continue;
      const known = failedByGuid.get(d.guid);
      if (!known || d.id > known.id) failedByGuid.set(d.guid, d);
    }
    report.failed = failedByGuid.size;

    const retry: NonNullable<ScanState['retry']> = [];
    /** One redelivery request for a delivery this run holds the claim of; what fails stays in `retry`. */
    const attempt = async (item: { id: number; guid: string; tries: number }) => {
      let slot: boolean;
      try {
        slot = await claimGuidSlot(item.guid, now);
      } catch (error) {
        // Claimed but not sent: it must not be dropped (a rerun would find its claim taken).
        retry.push(item);
        logger.warn('cannot claim a redelivery; kept for the next run', { guid: item.guid, error: String(error) });
        return;
      }
      if (!slot) {
        report.exhausted += 1;
        logger.warn('webhook delivery failed again after its redeliveries; giving up', { guid: item.guid });
        return;
      }
      if (await redeliver(item.id, item.guid)) report.redelivered += 1;
      else {
        report.errors += 1;
        retry.push({ ...item, tries: item.tries + 1 });
      }
    };
    for (const item of state.retry ?? []) {
      if (!succeeded.has(item.guid)) await attempt(item);
    }
    const held = new Set((state.retry ?? []).map((item) => item.id));
    for (const d of failedByGuid.values()) {
      if (held.has(d.id)) continue; // already ours, handled above
      let claimed: boolean;
      try {
        // Claim first: a crash between claim and request loses at most this one redelivery, never doubles it.
        claimed = await locks.mark(`redelivery:${d.id}`, now, MARK_TTL_MS);
      } catch (error) {
        // The claim may or may not have been written: keep the delivery (a duplicate is harmless, a loss is not).
        retry.push({ id: d.id, guid: d.guid, tries: 0 });
        logger.warn('cannot claim a redelivery; kept for the next run', { guid: d.guid, error: String(error) });
        continue;
      }
      if (claimed) await attempt({ id: d.id, guid: d.guid, tries: 0 });
    }

    const nextState: ScanState = finished
      ? { newestAt: Math.max(state.newestAt, headAt) }
      : { newestAt: state.newestAt, resume: { cursor: cursor as string, stopAt, headAt } };
    if (retry.length > 0) nextState.retry = retry;
    report.more = !finished;
    // The state carries claimed-but-unsent deliveries: worth a few tries against a throttled store.
    for (let tries = 1; ; tries++) {
      try {
        await locks.setValue(DELIVERY_STATE, JSON.stringify(nextState), now);
        break;
      } catch (error) {
        if (tries >= 3) throw error;
        await sleep(100 * tries);
      }
    }

    if (report.redelivered > 0) {
      metrics.count(CountMetric.webhookRedelivered, report.redelivered);
      logger.info('failed webhook deliveries redelivered', {
        scanned: report.scanned,
        failed: report.failed,
        redelivered: report.redelivered,
      });
    }
    return report;
  };
}

export type RecoverDeliveries = ReturnType<typeof createRecoverDeliveries>;
