import { randomBytes, randomUUID } from 'node:crypto';

/** The `.runner` file of a simulated runner (same keys as the real runner's, plus `labels`). */
export interface RunnerFile {
  agentId: number;
  agentName: string;
  poolId: number;
  poolName: string;
  /** Base URL of the simulator (where `/_broker/…` lives). */
  serverUrl: string;
  serverUrlV2: string;
  gitHubUrl: string;
  workFolder: string;
  ephemeral: boolean;
  isJit?: boolean;
  labels: string[];
  runnerVersion?: string;
}

/** The `.credentials` file; `data.accessToken` is the runner's broker credential (secret). */
export interface CredentialsFile {
  scheme: 'OAuth';
  data: { clientId: string; authorizationUrl: string; requireFipsCryptography: string; accessToken: string };
}

export interface RunnerFiles {
  '.runner': RunnerFile;
  '.credentials': CredentialsFile;
  '.credentials_rsaparams': Record<string, string>;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

export function credentialsFile(brokerUrl: string, accessToken: string): CredentialsFile {
  return {
    scheme: 'OAuth',
    data: {
      clientId: randomUUID(),
      authorizationUrl: `${brokerUrl}/oauth2/token`,
      requireFipsCryptography: 'True',
      accessToken,
    },
  };
}

/**
 * Shaped like the real runner's RSA parameters file. The values are random bytes, not a key: the
 * simulated broker authenticates runners by their access token, and generating 2048-bit keys per JIT
 * runner would cost far more than the simulation is worth.
 */
export function rsaParamsFile(): Record<string, string> {
  const field = (n: number) => randomBytes(n).toString('base64');
  return {
    d: field(256),
    dp: field(128),
    dq: field(128),
    exponent: 'AQAB',
    inverseQ: field(128),
    modulus: field(256),
    p: field(128),
    q: field(128),
  };
}

/** Like GitHub's `encoded_jit_config`: base64 of a JSON map of file name → base64 of the file's JSON. */
export function encodeJitConfig(files: RunnerFiles): string {
  return b64({
    '.runner': b64(files['.runner']),
    '.credentials': b64(files['.credentials']),
    '.credentials_rsaparams': b64(files['.credentials_rsaparams']),
  });
}

export function decodeJitConfig(encoded: string): RunnerFiles {
  const outer = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as Record<string, string>;
  const file = (name: keyof RunnerFiles) => {
    const text = outer[name];
    if (typeof text !== 'string') throw new TypeError(`JIT config has no ${name}`);
    return JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as unknown;
  };
  return {
    '.runner': file('.runner') as RunnerFile,
    '.credentials': file('.credentials') as CredentialsFile,
    '.credentials_rsaparams': file('.credentials_rsaparams') as Record<string, string>,
  };
}
