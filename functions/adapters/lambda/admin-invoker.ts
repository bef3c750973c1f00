import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ADMIN_KEY, type AdminRequest } from '../../use-cases/admin/admin-request.ts';

/** The deployed admin entry's answer: the status its use case gave and the body. */
export interface AdminAnswer {
  status: number;
  body: unknown;
}

/** The function failed instead of answering (Lambda's `FunctionError`): its type and message as it reported them. */
export class AdminFunctionError extends Error {
  constructor(
    readonly functionName: string,
    readonly detail: string,
  ) {
    super(`${functionName} failed: ${detail}`);
    this.name = 'AdminFunctionError';
  }
}

/**
 * Invokes the deployed admin entry (`{ "jitRunnersAdmin": request }`) RequestResponse, with the caller's
 * credentials, and reads its answer.
 */
export async function invokeAdmin(
  client: LambdaClient,
  functionName: string,
  request: AdminRequest,
): Promise<AdminAnswer> {
  const out = await client.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify({ [ADMIN_KEY]: request })),
    }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  let payload: unknown;
  try {
    payload = text === '' ? undefined : JSON.parse(text);
  } catch {
    payload = undefined;
  }
  if (out.FunctionError) {
    const p = payload as { errorType?: unknown; errorMessage?: unknown } | undefined;
    const detail = [p?.errorType, p?.errorMessage].filter((v) => typeof v === 'string').join(': ');
    throw new AdminFunctionError(functionName, detail || out.FunctionError);
  }
  const reply = (payload as Record<string, unknown> | undefined)?.[ADMIN_KEY] as
    | { status?: unknown; body?: unknown }
    | undefined;
  if (!reply || typeof reply.status !== 'number') {
    throw new AdminFunctionError(
      functionName,
      'it answered without an admin reply (a release without the admin entry? deploy this release)',
    );
  }
  return { status: reply.status, body: reply.body };
}

/** One asynchronous invoke (InvocationType Event) with `payload` as it is: the dead-letter redrive's. */
export async function invokeEvent(client: LambdaClient, functionName: string, payload: unknown): Promise<void> {
  const out = await client.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'Event',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  if (out.StatusCode !== 202) {
    throw new Error(`lambda:Invoke of ${functionName} answered ${String(out.StatusCode)}, expected 202`);
  }
}
