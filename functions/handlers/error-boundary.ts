import { awsErrorInfo } from '../adapters/aws/aws-error.ts';
import type { SecretRegistry } from '../adapters/logging/redacting-logger.ts';
import { JitRunnersError } from '../domain/errors.ts';
import { GitHubRequestError } from '../ports/github.ts';
import type { Logger } from '../ports/runtime.ts';
import type { LambdaRole } from './lambda-logger.ts';

/**
 * What may be said about an error that reaches a handler's boundary. Why so little: the message of an
 * SDK or library error is text we did not write (a validation error may echo the value it refused, a
 * JIT config or a token), and what leaves the handler is written by Lambda to its runtime log and to the
 * dead-letter record, outside the redacting logger. Our own errors (`JitRunnersError`) are built from
 * safe facts; their message is kept, redacted all the same.
 */
export interface SafeError {
  /** The error's class or code name (`ThrottlingException`, `StoreUnavailableError`, `TypeError`). */
  name: string;
  /** `JitRunnersError` only: its area and its message, redacted. */
  area?: string;
  message?: string;
  /** AWS SDK errors: the HTTP status and request id. GitHub errors: the status and endpoint template. */
  status?: number;
  requestId?: string;
  endpoint?: string;
}

/** Names are identifiers; anything else in them is dropped. */
const safeName = (value: unknown): string =>
  typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,80}$/.test(value) ? value : 'Error';

const isAwsError = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && ('$metadata' in error || '$fault' in error);

/** Reduces any thrown value to {@link SafeError}; `redact` is the registry's (known secrets and patterns). */
export function safeError(error: unknown, redact: (text: string) => string): SafeError {
  if (error instanceof GitHubRequestError) {
    return { name: safeName(error.name), area: error.area, status: error.status, endpoint: redact(error.endpoint) };
  }
  if (error instanceof JitRunnersError) {
    return { name: safeName(error.name), area: error.area, message: redact(error.message) };
  }
  if (isAwsError(error)) {
    const info = awsErrorInfo(error);
    return {
      name: safeName(info.code),
      ...(info.httpStatus !== undefined && { status: info.httpStatus }),
      ...(info.requestId !== undefined && { requestId: safeName(info.requestId) }),
    };
  }
  return { name: safeName(error instanceof Error ? error.name : typeof error) };
}

/** One line for the thrown error: what the runtime log and the dead-letter record show. */
export function describeSafeError(e: SafeError): string {
  const facts = [
    e.status !== undefined ? `status ${e.status}` : undefined,
    e.endpoint,
    e.requestId !== undefined ? `request ${e.requestId}` : undefined,
  ].filter(Boolean);
  return `${e.name}${e.message ? `: ${e.message}` : ''}${facts.length > 0 ? ` (${facts.join(', ')})` : ''}`;
}

/**
 * The error a handler throws instead of whatever reached its boundary: Lambda still sees a failure (and
 * retries an asynchronous event, then parks it in the dead-letter queue), but its type, message and stack
 * say only the safe fields. No `cause` is attached: it would carry the original error along.
 */
export class HandlerFailure extends Error {
  constructor(
    readonly role: LambdaRole,
    readonly safe: SafeError,
  ) {
    super(`${role} failed: ${describeSafeError(safe)}`);
    this.name = 'HandlerFailure';
  }
}

/** What the boundary needs from a built composition root: its logger and the secrets it redacts. */
export interface BoundaryApp {
  logger: Logger;
  secrets: Pick<SecretRegistry, 'redact'>;
}

/**
 * The catch at a Lambda handler's boundary. `use(app)` records the composition root once it is built;
 * before that (a cold-start failure) the line goes to stderr as JSON with the same safe fields.
 */
export function errorBoundary(role: LambdaRole) {
  let app: BoundaryApp | undefined;
  const redact = (text: string) => app?.secrets.redact(text) ?? text;

  /** Logs `error` reduced to safe fields and returns the {@link HandlerFailure} to throw (or answer with). */
  function contain(error: unknown, requestId: string | undefined): HandlerFailure {
    // An error that already passed a boundary (a nested call) is not reduced twice.
    const safe = error instanceof HandlerFailure ? error.safe : safeError(error, redact);
    const message = `${role} invocation failed`;
    if (app) {
      app.logger.error(message, { error: safe });
    } else {
      console.error(
        JSON.stringify({ level: 'ERROR', message, function: role, function_request_id: requestId, error: safe }),
      );
    }
    return new HandlerFailure(role, safe);
  }

  return {
    use<A extends BoundaryApp>(built: A): A {
      app = built;
      return built;
    },
    contain,
    /** Runs the handler's work; anything it throws is logged safely and rethrown as a {@link HandlerFailure}. */
    async run<T>(requestId: string | undefined, work: () => Promise<T>): Promise<T> {
      try {
        return await work();
      } catch (error) {
        throw contain(error, requestId);
      }
    },
  };
}
