import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { Config } from '../config/config.ts';
import type { Logger } from '../ports/runtime.ts';

/** The role of a function in log fields and metrics. */
export type LambdaRole = 'webhook' | 'provisioner' | 'runner-events' | 'reconciler';

// Why module state: a Lambda process runs one invocation at a time, and the loggers are built inside
// the memoised cold-start work (lambda-core, webhook-app), after the handler has been called. The
// handler records its invocation here first; a logger built later picks it up when it is created.
let invocation: Context | undefined;
const loggers = new Set<PowertoolsLogger>();

/**
 * Called first by every handler with Lambda's context: from then on every line of every Lambda logger
 * carries `function_request_id` and `cold_start` (true only on the first invocation of the process),
 * plus the function name, ARN and memory size that Powertools adds.
 */
export function useInvocationContext(context: Context | undefined): void {
  // Direct calls (tests, a console invoke without a context) have none; the lines simply lack the fields.
  if (!context) return;
  invocation = context;
  for (const pt of loggers) pt.addContext(context);
}

/** Powertools JSON logger behind the port (wrap it with the redacting logger before use). */
export function createLambdaLogger(role: LambdaRole, level: Config['logLevel']): Logger {
  const pt = new PowertoolsLogger({ serviceName: 'jit-runners', logLevel: level, persistentKeys: { function: role } });
  loggers.add(pt);
  if (invocation) pt.addContext(invocation);
  return {
    debug: (m, f) => pt.debug(m, { ...f }),
    info: (m, f) => pt.info(m, { ...f }),
    warn: (m, f) => pt.warn(m, { ...f }),
    error: (m, f) => pt.error(m, { ...f }),
  };
}
