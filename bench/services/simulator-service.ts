import { startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import type { SimRequest } from '../../functions/adapters/sandbox/sim-types.ts';
import { serveParent } from '../child-service.ts';

/** Helper process: the GitHub simulator with its answer latency, standing in for api.github.com. */
export interface SimulatorServiceReady {
  apiUrl: string;
  appId: number;
  installationId: number;
  /** The simulator's own App key (sandbox only); handed to the GitHub client, never printed. */
  privateKey: string;
  /** Added to every REST answer. */
  latencyMs: number;
}

/** Requests the simulator answered since the last reset, counted by endpoint template. */
export interface SimRequestCounts {
  total: number;
  byEndpoint: Record<string, number>;
  connections: number;
}

const latencyMs = Number(process.env.BENCH_GITHUB_LATENCY_MS ?? '0');
const sim = await startGitHubSimulator({ latencyMs });

serveParent(
  {
    apiUrl: sim.apiUrl,
    appId: sim.appId,
    installationId: sim.installationId,
    privateKey: sim.privateKey,
    latencyMs,
  } satisfies SimulatorServiceReady,
  {
    counts: (): SimRequestCounts => {
      const byEndpoint: Record<string, number> = {};
      for (const r of sim.requests as readonly SimRequest[]) byEndpoint[r.endpoint] = (byEndpoint[r.endpoint] ?? 0) + 1;
      return { total: sim.requests.length, byEndpoint, connections: sim.connections };
    },
    reset: () => {
      sim.resetRequests();
    },
    sessions: () => sim.sessionsOpened(),
    latency: (ms: number) => {
      sim.setLatency(ms);
    },
  },
  () => sim.close(),
);
