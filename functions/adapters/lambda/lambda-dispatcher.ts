import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { Dispatcher, JobHandoff } from '../../ports/runtime.ts';
import type { JobProgress } from '../../use-cases/ingress/accept-webhook.ts';

/**
 * The provisioner's event for a queued job: the job id, and when the webhook recorded the job already
 * leased, the job itself (the provisioner then needs no lease write and no read).
 */
export interface ProvisionEvent {
  jobId: number;
  handoff?: JobHandoff;
}

/**
 * The provisioner's event for an `in_progress`/`completed` delivery: the progress listeners (stolen and
 * spare runners, observed baselines) call GitHub and the launcher, which the webhook function may not.
 */
export interface ProgressEvent {
  progress: JobProgress;
}

/**
 * Hands a job to the provisioner function with an asynchronous invoke. Why `Event`: the webhook must
 * answer GitHub within 10 s, and Lambda's async queue gives retries plus the on-failure destination
 * (the dead-letter queue) for free.
 */
export class LambdaDispatcher implements Dispatcher {
  readonly #client: LambdaClient;
  readonly #functionName: string;

  constructor(options: { client: LambdaClient; functionName: string }) {
    this.#client = options.client;
    this.#functionName = options.functionName;
  }

  async dispatch(jobId: number, options?: { delayMs?: number; handoff?: JobHandoff }): Promise<void> {
    const event: ProvisionEvent = options?.handoff ? { jobId, handoff: options.handoff } : { jobId };
    await this.#invoke(event);
  }

  /** Hands a job's progress to the provisioner function, where the progress listeners run. */
  async dispatchProgress(progress: JobProgress): Promise<void> {
    await this.#invoke({ progress } satisfies ProgressEvent);
  }

  async #invoke(event: ProvisionEvent | ProgressEvent): Promise<void> {
    const out = await this.#client.send(
      new InvokeCommand({
        FunctionName: this.#functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    if (out.StatusCode !== 202) {
      throw new Error(`lambda:Invoke of ${this.#functionName} answered ${String(out.StatusCode)}, expected 202`);
    }
  }
}
