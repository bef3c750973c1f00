import type { KeyObject } from 'node:crypto';
import type { SimReleases } from './runner-releases.ts';
import type { SimAppFault, SimRequest } from './sim-types.ts';
import type { SimWorld } from './sim-world.ts';
import type { WebhookSender } from './webhook-sender.ts';

/** What the simulator's HTTP modules share. */
export interface SimContext {
  world: SimWorld;
  /** actions/runner releases and their packages. */
  releases: SimReleases;
  sender: WebhookSender;
  appId: number;
  publicKey: KeyObject;
  /** `http://127.0.0.1:PORT`: REST base, web base (`config.sh --url`) and broker host at once. */
  url(): string;
  record(entry: Omit<SimRequest, 'at'>): void;
  /** The App's faults (`setAppFault`); `{}` when none. */
  appFault(): SimAppFault;
}
