import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { Dispatcher } from '../../ports/runtime.ts';

/** The provisioner's event: just the job id; everything else is read from the table. */
export interface ProvisionEvent {
  jobId: number;
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

  async dispatch(jobId: number): Promise<void> {
    const event: ProvisionEvent = { jobId };
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
