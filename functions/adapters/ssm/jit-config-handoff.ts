import {
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { LaunchConfigError } from '../../ports/launcher.ts';
import { awsErrorCode, translateLaunchError, withLaunchErrors } from '../aws/translate-launch-error.ts';

export interface JitConfigHandoffOptions {
  client: SSMClient;
  /** `JIT_CONFIG_PARAMETER_PREFIX`, e.g. `/jit-runners/jit-config` (no trailing slash). */
  prefix: string;
  /** KMS key for the SecureString; the account's `alias/aws/ssm` key when unset. */
  kmsKeyId?: string;
}

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * Hands a runner its secret (JIT config or registration token) out of band: an SSM SecureString under
 * `${prefix}/<runnerName>`. The launch carries only the parameter NAME; the runner reads the value with
 * its own role and deletes it, and the reconciler sweeps whatever a runner never picked up.
 */
export class JitConfigHandoff {
  readonly prefix: string;
  readonly #client: SSMClient;
  readonly #kmsKeyId: string | undefined;

  constructor(options: JitConfigHandoffOptions) {
    this.#client = options.client;
    this.prefix = options.prefix.replace(/\/+$/, '');
    this.#kmsKeyId = options.kmsKeyId;
    if (!this.prefix.startsWith('/')) {
      throw new LaunchConfigError(`JIT config parameter prefix must start with "/": ${this.prefix}`);
    }
  }

  parameterName(runnerName: string): string {
    if (!NAME.test(runnerName))
      throw new LaunchConfigError(`runner name not usable in a parameter name: ${runnerName}`);
    return `${this.prefix}/${runnerName}`;
  }

  /** Stores the secret and returns the parameter name. */
  async put(runnerName: string, secret: string): Promise<string> {
    const name = this.parameterName(runnerName);
    await withLaunchErrors('ssm:PutParameter', () =>
      this.#client.send(
        new PutParameterCommand({
          Name: name,
          Value: secret,
          Type: 'SecureString',
          ...(this.#kmsKeyId ? { KeyId: this.#kmsKeyId } : {}),
          // Why Overwrite: a retried launch for the same runner name writes the same value again
          // instead of failing with ParameterAlreadyExists.
          Overwrite: true,
          // Why Intelligent-Tiering: an encoded JIT config is usually under the 4 KB standard limit,
          // but not guaranteed; SSM then picks the advanced tier instead of rejecting the launch.
          Tier: 'Intelligent-Tiering',
          Description: 'jit-runners hand-off; deleted by the runner after reading',
        }),
      ),
    );
    return name;
  }

  /** Deletes the hand-off; a parameter already gone is success. */
  async delete(runnerName: string): Promise<void> {
    const name = this.parameterName(runnerName);
    try {
      await this.#client.send(new DeleteParameterCommand({ Name: name }));
    } catch (error) {
      if (awsErrorCode(error) === 'ParameterNotFound') return;
      throw translateLaunchError(error, 'ssm:DeleteParameter');
    }
  }

  /**
   * Deletes hand-offs older than `maxAgeMs` (a runner that never started, a launch that failed after
   * the put). Lists names and dates only (DescribeParameters never returns values). Returns the count.
   */
  async sweep(now: number, maxAgeMs: number): Promise<number> {
    const stale: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await withLaunchErrors('ssm:DescribeParameters', () =>
        this.#client.send(
          new DescribeParametersCommand({
            ParameterFilters: [{ Key: 'Path', Option: 'OneLevel', Values: [this.prefix] }],
            MaxResults: 50,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        ),
      );
      for (const p of page.Parameters ?? []) {
        const modified = p.LastModifiedDate?.getTime();
        if (p.Name && modified !== undefined && now - modified > maxAgeMs) stale.push(p.Name);
      }
      nextToken = page.NextToken;
    } while (nextToken);
    for (let i = 0; i < stale.length; i += 10) {
      const names = stale.slice(i, i + 10);
      await withLaunchErrors('ssm:DeleteParameters', () =>
        this.#client.send(new DeleteParametersCommand({ Names: names })),
      );
    }
    return stale.length;
  }
}
