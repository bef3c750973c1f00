import { SSMClient } from '@aws-sdk/client-ssm';
import { JitConfigHandoff } from '../../../functions/adapters/ssm/jit-config-handoff.ts';

/** The moment the AWS launcher specs run at. */
export const NOW = Date.UTC(2026, 2, 1, 12);

/** The hand-off the AWS launcher specs write through (each spec mocks SSMClient itself). */
export const handoff = new JitConfigHandoff({
  client: new SSMClient({ region: 'eu-west-1' }),
  prefix: '/jr/jit',
  nameKey: 'functions-only key',
  clock: { now: () => NOW },
});
