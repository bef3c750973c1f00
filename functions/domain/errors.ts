/** Base of every error this project throws on purpose; `area` says which part raised it. */
export abstract class JitRunnersError extends Error {
  abstract readonly area: 'config' | 'store' | 'github' | 'launcher' | 'webhook' | 'provisioner' | 'runner-cache';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ConfigError extends JitRunnersError {
  readonly area = 'config';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}
