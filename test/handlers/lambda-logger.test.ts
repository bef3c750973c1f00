import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLambdaLogger, useInvocationContext } from '../../functions/handlers/lambda-logger.ts';

const context = (awsRequestId: string): Context =>
  ({
    awsRequestId,
    functionName: 'JitRunners-runner-events',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:JitRunners-runner-events',
    memoryLimitInMB: '256',
    logGroupName: '/aws/lambda/JitRunners-runner-events',
    logStreamName: '2026/01/01/[$LATEST]abc',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 1000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context;

describe('Lambda logger', () => {
  let lines: Record<string, unknown>[];

  beforeEach(() => {
    // Lambda sets it for on-demand environments; Powertools reports cold starts only there (provisioned
    // concurrency initialises ahead of the first request, so no invocation pays the cold start).
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    lines = [];
    // Powertools writes each line with its own Console on process.stdout / process.stderr.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        return true;
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('writes lines without request fields until a handler records its invocation', () => {
    const logger = createLambdaLogger('reconciler', 'INFO');
    logger.info('before any invocation', { n: 1 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ message: 'before any invocation', function: 'reconciler', n: 1 });
    expect(lines[0]).not.toHaveProperty('function_request_id');
  });

  it('carries the request id and cold_start true on the first invocation, false on the next ones', () => {
    const logger = createLambdaLogger('runner-events', 'INFO');
    useInvocationContext(context('req-1'));
    logger.warn('first', {});
    useInvocationContext(context('req-2'));
    logger.info('second', {});
    useInvocationContext(undefined);
    logger.error('a direct call without a context keeps the last invocation', {});
    expect(lines.map((l) => [l.message, l.function_request_id, l.cold_start])).toEqual([
      ['first', 'req-1', true],
      ['second', 'req-2', false],
      ['a direct call without a context keeps the last invocation', 'req-2', false],
    ]);
    expect(lines[0]).toMatchObject({ function_name: 'JitRunners-runner-events', level: 'WARN' });
  });

  it('gives a logger built after the handler started (the cold-start work) the invocation too', () => {
    useInvocationContext(context('req-3'));
    const logger = createLambdaLogger('provisioner', 'INFO');
    logger.info('built during the cold start', {});
    expect(lines[0]).toMatchObject({ function_request_id: 'req-3', cold_start: true, function: 'provisioner' });
  });
});
