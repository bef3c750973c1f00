/** An error shaped like the AWS SDK v3 service exceptions (name = error code, $metadata from the response). */
export function awsError(code: string, message = `${code} from AWS`, httpStatusCode = 400): Error {
  const error = new Error(message) as Error & { $metadata: unknown; $fault: string };
  error.name = code;
  error.$metadata = { httpStatusCode, requestId: 'req-1' };
  error.$fault = httpStatusCode >= 500 ? 'server' : 'client';
  return error;
}
