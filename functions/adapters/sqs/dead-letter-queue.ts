import { DeleteMessageCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** One message of the provisioner's dead-letter queue, read from its Lambda on-failure record. */
export interface DeadLetterMessage {
  messageId: string;
  receiptHandle: string;
  /** The original invoke's payload (`{"jobId":n}` or `{"progress":…}`); absent when the body is not a record. */
  requestPayload?: unknown;
  jobId?: number;
  kind: 'provision' | 'progress' | 'unknown';
  failedAt?: string;
  condition?: string;
  attempts?: number;
  error?: string;
  receiveCount?: number;
}

/** How long a peeked message stays hidden from other readers: short, so a listing barely delays a redrive. */
export const PEEK_VISIBILITY_SECONDS = 5;
/** How long a message being redriven stays hidden: long enough to invoke and delete it. */
export const REDRIVE_VISIBILITY_SECONDS = 60;
/** A listing reads at most this many messages (10 per ReceiveMessage). */
export const MAX_MESSAGES = 100;

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** A Lambda on-failure destination record (version 1.0) as the facts `dlq list` shows. */
export function readDeadLetter(message: Message): DeadLetterMessage | undefined {
  if (!message.MessageId || !message.ReceiptHandle) return undefined;
  const base = {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    ...(message.Attributes?.ApproximateReceiveCount
      ? { receiveCount: Number(message.Attributes.ApproximateReceiveCount) }
      : {}),
  };
  let body: Record<string, unknown> | undefined;
  try {
    body = asRecord(JSON.parse(message.Body ?? ''));
  } catch {
    body = undefined;
  }
  if (!body || !('requestPayload' in body)) return { ...base, kind: 'unknown' };
  const payload = asRecord(body.requestPayload);
  const context = asRecord(body.requestContext);
  const response = asRecord(body.responsePayload);
  const progress = asRecord(payload?.progress);
  const jobId = typeof payload?.jobId === 'number' ? payload.jobId : progress?.jobId;
  const error = [response?.errorType, response?.errorMessage].filter((v) => typeof v === 'string').join(': ');
  return {
    ...base,
    requestPayload: body.requestPayload,
    kind: typeof payload?.jobId === 'number' ? 'provision' : progress ? 'progress' : 'unknown',
    ...(typeof jobId === 'number' ? { jobId } : {}),
    ...(typeof body.timestamp === 'string' ? { failedAt: body.timestamp } : {}),
    ...(typeof context?.condition === 'string' ? { condition: context.condition } : {}),
    ...(typeof context?.approximateInvokeCount === 'number' ? { attempts: context.approximateInvokeCount } : {}),
    ...(error !== '' ? { error } : {}),
  };
}

/**
 * Receives the queue's messages (up to {@link MAX_MESSAGES}), each hidden for `visibilitySeconds`; never
 * deletes. Stops at the first round that brings nothing new (a message seen twice is kept once).
 */
export async function receiveDeadLetters(
  client: SQSClient,
  queueUrl: string,
  visibilitySeconds: number,
): Promise<DeadLetterMessage[]> {
  const seen = new Map<string, DeadLetterMessage>();
  while (seen.size < MAX_MESSAGES) {
    const out = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: visibilitySeconds,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
      }),
    );
    let fresh = 0;
    for (const m of out.Messages ?? []) {
      const letter = readDeadLetter(m);
      if (letter && !seen.has(letter.messageId)) {
        seen.set(letter.messageId, letter);
        fresh++;
      }
    }
    if (fresh === 0) break;
  }
  return [...seen.values()];
}

export async function deleteDeadLetter(client: SQSClient, queueUrl: string, receiptHandle: string): Promise<void> {
  await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
}
