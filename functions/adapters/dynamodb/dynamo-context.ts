import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { translateStoreError } from './translate-store-error.ts';

/** What every repository of the DynamoStore shares. */
export interface DynamoContext {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

/** Runs one request and translates its failure into the store's errors (see translate-store-error.ts). */
export async function storeCall<T>(what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw translateStoreError(error, what);
  }
}
