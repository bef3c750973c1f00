import { ConditionFailedError, StoreUnavailableError } from '../../ports/store.ts';

/** Service answers that mean "try again later" (after the SDK's own retries ran out). */
const UNAVAILABLE_NAMES: readonly string[] = [
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
];

/** Socket-level failures: the endpoint is unreachable (local store down, network blip). */
const NETWORK_CODES: readonly string[] = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
];

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

export function isConditionFailure(error: unknown): boolean {
  return (error as ErrorShape | undefined)?.name === 'ConditionalCheckFailedException';
}

export function isUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const shape = error as ErrorShape;
  if (typeof shape.name === 'string' && UNAVAILABLE_NAMES.includes(shape.name)) return true;
  if (typeof shape.code === 'string' && NETWORK_CODES.includes(shape.code)) return true;
  const status = shape.$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 500;
}

/**
 * Maps an SDK error to the store's port errors; anything else (validation errors, missing table, bugs)
 * is returned unchanged so it surfaces as-is. `what` names the operation and key, never item values.
 */
export function translateStoreError(error: unknown, what: string): unknown {
  if (isConditionFailure(error)) return new ConditionFailedError(`${what}: condition failed`, { cause: error });
  if (isUnavailable(error)) {
    const name = (error as ErrorShape).name;
    const code = (error as ErrorShape).code;
    const reason = typeof code === 'string' ? code : typeof name === 'string' ? name : 'error';
    return new StoreUnavailableError(`${what}: store unavailable (${reason})`, { cause: error });
  }
  return error;
}
