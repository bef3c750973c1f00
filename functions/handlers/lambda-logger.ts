import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Config } from '../config/config.ts';
import type { Logger } from '../ports/runtime.ts';

/** The role of a function in log fields and metrics. */
export type LambdaRole = 'webhook' | 'provisioner' | 'runner-events' | 'reconciler';

/** Powertools JSON logger behind the port (wrap it with the redacting logger before use). */
export function createLambdaLogger(role: LambdaRole, level: Config['logLevel']): Logger {
  const pt = new PowertoolsLogger({ serviceName: 'jit-runners', logLevel: level, persistentKeys: { function: role } });
  return {
    debug: (m, f) => pt.debug(m, { ...f }),
    info: (m, f) => pt.info(m, { ...f }),
    warn: (m, f) => pt.warn(m, { ...f }),
    error: (m, f) => pt.error(m, { ...f }),
  };
}
