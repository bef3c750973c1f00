import { createServer } from 'node:net';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDynamoStore } from '../../../functions/adapters/dynamodb/dynamo-store.ts';
import { createLocalDynamoClient } from '../../../functions/adapters/dynamodb/local-client.ts';
import { translateStoreError } from '../../../functions/adapters/dynamodb/translate-store-error.ts';
import { ConditionFailedError, StoreUnavailableError } from '../../../functions/ports/store.ts';
import { newJob } from './store-contract.ts';

const $metadata = { httpStatusCode: 400 };

function serviceError(name: string, status: number): Error {
  return Object.assign(new Error(`${name} from the service`), { name, $metadata: { httpStatusCode: status } });
}

describe('DynamoStore error translation', () => {
  // DynamoDB cannot be made to throttle or fail here, so the document client answers with the SDK's errors.
  const documentMock = mockClient(DynamoDBDocumentClient);
  const plain = new DynamoDBClient({ region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  const store = createDynamoStore({ client: plain, tableName: 'jit-runners' });
  afterEach(() => documentMock.reset());
  afterAll(() => {
    documentMock.restore();
    plain.destroy();
  });

  it('turns ConditionalCheckFailedException into ConditionFailedError carrying the cause', async () => {
    const cause = new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata });
    documentMock.on(UpdateCommand).rejects(cause);
    const error = await store.jobs.update(101, { version: 3 }, { set: { reason: 'token-abc123' } }, 1).catch((e) => e);
    expect(error).toBeInstanceOf(ConditionFailedError);
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('job 101');
    expect(error.message).not.toContain('token-abc123');
  });

  const unavailable: [string, () => Error][] = [
    [
      'ProvisionedThroughputExceededException',
      () => new ProvisionedThroughputExceededException({ message: 'slow down', $metadata }),
    ],
    ['ThrottlingException', () => serviceError('ThrottlingException', 400)],
    ['RequestLimitExceeded', () => new RequestLimitExceeded({ message: 'limit', $metadata })],
    ['InternalServerError', () => new InternalServerError({ message: 'oops', $metadata: { httpStatusCode: 500 } })],
    ['ServiceUnavailable', () => serviceError('ServiceUnavailable', 503)],
    ['an unnamed 5xx', () => serviceError('UnknownError', 502)],
    ['a reset connection', () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a request timeout', () => Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
  ];
  for (const [label, make] of unavailable) {
    it(`turns ${label} into StoreUnavailableError carrying the cause`, async () => {
      const cause = make();
      documentMock.on(GetCommand).rejects(cause);
      const error = await store.jobs.get(101).catch((e) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error.cause).toBe(cause);
    });
  }

  it('rethrows other errors unchanged', async () => {
    const cause = new ResourceNotFoundException({ message: 'Requested resource not found', $metadata });
    documentMock.on(PutCommand).rejects(cause);
    await expect(store.locks.setValue('cursor', 'x', 1)).rejects.toBe(cause);
    const validation = serviceError('ValidationException', 400);
    documentMock.on(UpdateCommand).rejects(validation);
    await expect(store.jobs.update(1, {}, { set: { heals: 1 } }, 1)).rejects.toBe(validation);
  });

  it('keeps condition failures of create, acquire and mark as answers, not errors', async () => {
    documentMock
      .on(PutCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata }))
      .on(UpdateCommand)
      .resolves({});
    expect(await store.jobs.create(newJob(), 'd2', 1)).toEqual({ created: false });
    expect(documentMock.commandCalls(UpdateCommand)).toHaveLength(1);
    expect(await store.locks.acquire('l', 'o', 1, 10)).toBe(false);
    expect(await store.locks.mark('m', 1, 10)).toBe(false);
  });

  it('leaves non-SDK values alone', () => {
    const odd = { whatever: true };
    expect(translateStoreError(odd, 'x')).toBe(odd);
    expect(translateStoreError(undefined, 'x')).toBeUndefined();
  });
});

describe('DynamoStore against an unreachable endpoint', () => {
  it('reports StoreUnavailableError when nothing listens', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const client = createLocalDynamoClient(`http://127.0.0.1:${port}`, { maxAttempts: 1 });
    try {
      const unreachable = createDynamoStore({ client, tableName: 'jit-runners' });
      const error = await unreachable.jobs.get(1).catch((e) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error.cause).toBeDefined();
    } finally {
      client.destroy();
    }
  });
});
