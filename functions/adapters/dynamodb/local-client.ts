import { Agent } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * A client for a local DynamoDB-compatible endpoint (the embedded dynalite or `DYNAMODB_ENDPOINT`): dummy
 * credentials and region (no AWS credential chain lookups, which would be slow offline), keep-alive sockets.
 * In AWS use `new DynamoDBClient({})` and the default chain instead.
 */
export function createLocalDynamoClient(endpoint: string, options: { maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }), requestTimeout: 10_000 },
  });
}
