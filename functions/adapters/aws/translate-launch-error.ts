import {
  LaunchCapacityError,
  LaunchConfigError,
  type LauncherError,
  LaunchTransientError,
} from '../../ports/launcher.ts';
import { awsErrorInfo } from './aws-error.ts';

export const LaunchErrorKind = { transient: 'transient', capacity: 'capacity', config: 'config' } as const;
export type LaunchErrorKind = (typeof LaunchErrorKind)[keyof typeof LaunchErrorKind];

/**
 * Error codes of the services the launchers call, by what the caller should do about them.
 * Note EC2's `RequestLimitExceeded` is API throttling (transient), while `InstanceLimitExceeded` /
 * `VcpuLimitExceeded` are account quotas (capacity): the similar names mean different things.
 */
const TRANSIENT = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'TooManyUpdates',
  'InternalError',
  'InternalServerError',
  'InternalServerErrorException',
  'InternalFailure',
  'InternalServerException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'NetworkingError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
]);

const CAPACITY = new Set([
  'AccountLimitExceededException',
  'LimitExceededException',
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientCapacityOnHost',
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
  'MaxSpotInstanceCountExceeded',
  'SpotMaxPriceTooLow',
  'InsufficientFreeAddressesInSubnet',
  'ParameterLimitExceeded',
]);

const CONFIG = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'AuthFailure',
  'ExpiredToken',
  'ExpiredTokenException',
  'ResourceNotFoundException',
  'InvalidInputException',
  'ValidationException',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'InvalidParameter',
  'MissingParameter',
  'InvalidLaunchTemplateId.NotFound',
  'InvalidLaunchTemplateId.Malformed',
  'InvalidLaunchTemplateId.VersionNotFound',
  'InvalidLaunchTemplateName.NotFoundException',
  'InvalidSubnetID.NotFound',
  'InvalidAMIID.NotFound',
  'InvalidAMIID.Malformed',
  'InvalidKeyId',
  'InvalidKeyPair.NotFound',
  'InvalidGroup.NotFound',
  'OAuthProviderException',
  'HierarchyLevelLimitExceededException',
  'HierarchyTypeMismatchException',
  'UnsupportedParameterType',
  'IdempotentParameterMismatch',
  'IdempotentParameterMismatchException',
  'Unsupported',
  'OptInRequired',
]);

/** Classifies an AWS error; undefined when it is none of ours to translate (a bug, an unexpected answer). */
export function classifyLaunchError(error: unknown): LaunchErrorKind | undefined {
  const { code, httpStatus } = awsErrorInfo(error);
  if (TRANSIENT.has(code)) return LaunchErrorKind.transient;
  if (CAPACITY.has(code)) return LaunchErrorKind.capacity;
  if (CONFIG.has(code)) return LaunchErrorKind.config;
  if (httpStatus !== undefined && httpStatus >= 500) return LaunchErrorKind.transient;
  return undefined;
}

/**
 * Translates an AWS SDK error into the launcher port's errors, or returns the error untouched.
 * The message names the operation and the error code only: SDK validation messages may echo request
 * values, and for the SSM hand-off those values are secrets. For the same reason `cause` is a
 * sanitised copy (code, status, request id), never the SDK error itself.
 */
export function translateLaunchError(error: unknown, operation: string): unknown {
  const kind = classifyLaunchError(error);
  if (!kind) return error;
  const { code, httpStatus, requestId } = awsErrorInfo(error);
  const cause = new Error(
    `${code}${httpStatus ? ` (HTTP ${httpStatus})` : ''}${requestId ? ` request ${requestId}` : ''}`,
  );
  cause.name = code;
  const message = `${operation} failed: ${code}`;
  const options = { cause };
  let translated: LauncherError;
  switch (kind) {
    case LaunchErrorKind.transient:
      translated = new LaunchTransientError(message, options);
      break;
    case LaunchErrorKind.capacity:
      translated = new LaunchCapacityError(message, options);
      break;
    case LaunchErrorKind.config:
      translated = new LaunchConfigError(message, options);
      break;
  }
  return translated;
}

/** `await withLaunchErrors('StartBuild', () => client.send(...))`: translated errors are thrown, others rethrown. */
export async function withLaunchErrors<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateLaunchError(error, operation);
  }
}

/** The error code (or name) of an AWS error, for "already gone" checks. */
export function awsErrorCode(error: unknown): string {
  return awsErrorInfo(error).code;
}
