import { createHmac } from 'node:crypto';
import {
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  type ParameterMetadata,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { LaunchConfigError, LaunchTransientError } from '../../ports/launcher.ts';
import { type Clock, systemClock } from '../../ports/runtime.ts';
import { awsErrorCode, translateLaunchError, withLaunchErrors } from '../aws/translate-launch-error.ts';

export interface JitConfigHandoffOptions {
  client: SSMClient;
  /** `JIT_CONFIG_PARAMETER_PREFIX`, e.g. `/jit-runners/jit-config` (no trailing slash). */
  prefix: string;
  /**
   * `JIT_CONFIG_KMS_KEY_ID`: the stack's customer-managed key, whose key policy admits only the
   * functions (encrypt) and the runner roles (decrypt through SSM). Unset (tests, a hand-made setup):
   * the account's `alias/aws/ssm` key.
   */
  kmsKeyId?: string | undefined;
  /**
   * Secret key material only the functions hold (the App private key in AWS): hand-off names are
   * derived from it, so no runner can compute another runner's name. See {@link JitConfigHandoff.plan}.
   */
  nameKey: string;
  clock?: Clock;
}

/**
 * The tag whose value names the one principal context allowed to read a hand-off: an EC2 instance ARN
 * (the runner role's condition compares it with `ec2:SourceInstanceARN`) or a CodeBuild build ARN
 * (compared with `${codebuild:buildArn}`). cdk/constructs/jit-config-parameters.ts conditions on it.
 */
export const READER_TAG = 'jit-runners:reader';
/** The runner the hand-off is for (housekeeping and humans; no permission depends on it). */
export const RUNNER_TAG = 'jit-runners:runner';

/**
 * How long a hand-off may exist before SSM deletes it (an Expiration parameter policy). Why 15 minutes:
 * it covers an EC2 boot with its package installs or a CodeBuild build's provisioning with room to
 * spare, and it is far beyond `RUNNER_START_TIMEOUT_SECONDS` (120 s by default), after which a runner not
 * seen working is replaced under a new name anyway; the functions delete a hand-off well before, once
 * it has been read or its runner ended (docs/decisions.md "Per-runner hand-off").
 */
export const HANDOFF_LIFETIME_MS = 15 * 60_000;

const RUNNER_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
/** 128 bits, hex: not guessable, and no `-`, so `<runner name>-` prefixes never overlap. */
const SUFFIX = /^[0-9a-f]{32}$/;

/**
 * Hands a runner its secret (JIT config or registration token) out of band, readable by that one
 * runner only: an SSM SecureString under `${prefix}/<runnerName>-<32 hex>`. The launcher decides the
 * name before the launch ({@link plan}) and passes the runner only the name; after the launch, when the
 * build or instance ARN exists, it writes the value tagged with that ARN ({@link write}). Runners can
 * read their own hand-off and delete nothing; the functions delete it once it was read or the runner ended
 * ({@link dropFor}), SSM expires it after {@link HANDOFF_LIFETIME_MS}, and the reconciler sweeps
 * whatever is left ({@link sweep}).
 */
export class JitConfigHandoff {
  readonly prefix: string;
  readonly #client: SSMClient;
  readonly #kmsKeyId: string | undefined;
  readonly #clock: Clock;
  readonly #nameKey: Buffer;

  constructor(options: JitConfigHandoffOptions) {
    this.#client = options.client;
    if (!options.nameKey) throw new LaunchConfigError('the hand-off needs secret key material for its names');
    // A key of its own, derived once, so the names reveal nothing about the key material's other uses.
    this.#nameKey = createHmac('sha256', options.nameKey).update('jit-runners hand-off names v1').digest();
    this.prefix = options.prefix.replace(/\/+$/, '');
    this.#kmsKeyId = options.kmsKeyId;
    this.#clock = options.clock ?? systemClock;
    if (!this.prefix.startsWith('/')) {
      throw new LaunchConfigError(`JIT config parameter prefix must start with "/": ${this.prefix}`);
    }
  }

  /**
   * The parameter name of a runner's hand-off, decided before the launch (nothing is written yet):
   * `${prefix}/<runnerName>-<32 hex>`, the suffix an HMAC of the runner name under a key only the
   * functions hold. Why keyed and not random: unguessable to every runner (a job knows its own name,
   * never the key), yet the same on every try for one runner name, so a retried StartBuild/RunInstances
   * repeats exactly the first call's parameters (its idempotency token then returns the first launch
   * instead of a parameter mismatch), and the functions can delete a hand-off knowing only the runner
   * name.
   */
  plan(runnerName: string): string {
    if (!RUNNER_NAME.test(runnerName))
      throw new LaunchConfigError(`runner name not usable in a parameter name: ${runnerName}`);
    const suffix = createHmac('sha256', this.#nameKey).update(runnerName).digest('hex').slice(0, 32);
    return `${this.prefix}/${runnerName}-${suffix}`;
  }

  /** Whether `name` is a hand-off of this prefix (a planned name, or one read back from a launch). */
  owns(name: string): boolean {
    if (!name.startsWith(`${this.prefix}/`)) return false;
    const rest = name.slice(this.prefix.length + 1);
    const dash = rest.lastIndexOf('-');
    return dash > 0 && RUNNER_NAME.test(rest.slice(0, dash)) && SUFFIX.test(rest.slice(dash + 1));
  }

  /**
   * The name to write after a launch: the one the build or instance was told (`told`, read back from it),
   * when it is a hand-off of ours, else the one planned for this try. Why: a retried launch answers with
   * the first try's build or instance, which waits for the first try's name.
   */
  nameToWrite<P extends string | undefined>(told: string | undefined, planned: P): string | P {
    return told !== undefined && this.owns(told) ? told : planned;
  }

  /**
   * Writes the hand-off under `name`, readable only by `readerArn` (the launched instance or build).
   * Never overwrites: the name is unguessable and written once. `ParameterAlreadyExists` is success:
   * a retried launch of the same runner returns the build or instance of the first try (idempotency
   * token / ClientToken / the name tag), whose hand-off the first try already wrote.
   */
  async write(name: string, secret: string, readerArn: string, runnerName: string): Promise<void> {
    if (!this.owns(name)) throw new LaunchConfigError(`not a hand-off parameter of ${this.prefix}: ${name}`);
    const expires = new Date(this.#clock.now() + HANDOFF_LIFETIME_MS).toISOString();
    try {
      await this.#client.send(
        new PutParameterCommand({
          Name: name,
          Value: secret,
          Type: 'SecureString',
          ...(this.#kmsKeyId ? { KeyId: this.#kmsKeyId } : {}),
          // Why Advanced: parameter policies (the expiration) need it, and it holds up to 8 KB, so a
          // large JIT config is never refused.
          Tier: 'Advanced',
          Policies: JSON.stringify([{ Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: expires } }]),
          // Tags in the creating call: the parameter never exists without its reader tag.
          Tags: [
            { Key: READER_TAG, Value: readerArn },
            { Key: RUNNER_TAG, Value: runnerName },
          ],
          Description: 'jit-runners hand-off: one runner reads it; the functions delete it',
        }),
      );
    } catch (error) {
      if (awsErrorCode(error) === 'ParameterAlreadyExists') return;
      const translated = translateLaunchError(error, 'ssm:PutParameter');
      // An error we do not classify is not rethrown as the SDK made it: its message might echo the value.
      if (translated === error) throw new LaunchTransientError(`ssm:PutParameter failed: ${awsErrorCode(error)}`);
      throw translated;
    }
  }

  /**
   * Deletes the hand-off of `runnerName` (the runner read it, or its build/instance ended); one already
   * gone (expired, swept, never written) is success.
   */
  async dropFor(runnerName: string): Promise<void> {
    if (!RUNNER_NAME.test(runnerName)) return;
    try {
      await this.#client.send(new DeleteParameterCommand({ Name: this.plan(runnerName) }));
    } catch (error) {
      if (awsErrorCode(error) === 'ParameterNotFound') return;
      throw translateLaunchError(error, 'ssm:DeleteParameter');
    }
  }

  /**
   * Deletes hand-offs older than `maxAgeMs` that SSM's expiration has not removed yet (a runner that
   * never started, a write that failed after the launch). Returns the count.
   */
  async sweep(now: number, maxAgeMs: number): Promise<number> {
    const stale = (await this.#list())
      .filter((p) => {
        const modified = p.LastModifiedDate?.getTime();
        return p.Name !== undefined && modified !== undefined && now - modified > maxAgeMs;
      })
      .map((p) => p.Name as string);
    await this.#delete(stale);
    return stale.length;
  }

  async #list(): Promise<ParameterMetadata[]> {
    const found: ParameterMetadata[] = [];
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
      found.push(...(page.Parameters ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    return found;
  }

  /** DeleteParameters in batches of ten (its limit); names already gone are reported, not thrown. */
  async #delete(names: readonly string[]): Promise<void> {
    for (let i = 0; i < names.length; i += 10) {
      const batch = names.slice(i, i + 10);
      await withLaunchErrors('ssm:DeleteParameters', () =>
        this.#client.send(new DeleteParametersCommand({ Names: batch })),
      );
    }
  }
}
