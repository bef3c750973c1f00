/** What an AWS SDK v3 error tells us, read defensively (SDK errors, network errors and plain objects all pass through). */
export interface AwsErrorInfo {
  /** Service error code (`ThrottlingException`, `InsufficientInstanceCapacity`, ...) or the JS error name. */
  code: string;
  httpStatus: number | undefined;
  requestId: string | undefined;
}

export function awsErrorInfo(error: unknown): AwsErrorInfo {
  if (typeof error !== 'object' || error === null)
    return { code: 'Unknown', httpStatus: undefined, requestId: undefined };
  const e = error as {
    name?: unknown;
    Code?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
  };
  const code =
    (typeof e.Code === 'string' && e.Code) ||
    (typeof e.name === 'string' && e.name !== 'Error' && e.name) ||
    (typeof e.code === 'string' && e.code) ||
    'Unknown';
  const status = e.$metadata?.httpStatusCode;
  const requestId = e.$metadata?.requestId;
  return {
    code,
    httpStatus: typeof status === 'number' ? status : undefined,
    requestId: typeof requestId === 'string' ? requestId : undefined,
  };
}
