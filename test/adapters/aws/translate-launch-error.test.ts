import { describe, expect, it } from 'vitest';
import { classifyLaunchError, translateLaunchError } from '../../../functions/adapters/aws/translate-launch-error.ts';
import { LaunchCapacityError, LaunchConfigError, LaunchTransientError } from '../../../functions/ports/launcher.ts';
import { awsError } from './aws-errors.ts';

describe('translateLaunchError', () => {
  it.each([
    ['ThrottlingException', LaunchTransientError],
    ['RequestLimitExceeded', LaunchTransientError],
    ['TooManyUpdates', LaunchTransientError],
    ['AccountLimitExceededException', LaunchCapacityError],
    ['InsufficientInstanceCapacity', LaunchCapacityError],
    ['InstanceLimitExceeded', LaunchCapacityError],
    ['VcpuLimitExceeded', LaunchCapacityError],
    ['MaxSpotInstanceCountExceeded', LaunchCapacityError],
    ['AccessDeniedException', LaunchConfigError],
    ['UnauthorizedOperation', LaunchConfigError],
    ['ResourceNotFoundException', LaunchConfigError],
    ['InvalidLaunchTemplateId.NotFound', LaunchConfigError],
  ])('maps %s to %o', (code, type) => {
    const translated = translateLaunchError(awsError(code), 'op:Call');
    expect(translated).toBeInstanceOf(type);
    expect((translated as Error).message).toBe(`op:Call failed: ${code}`);
  });

  it('treats an unknown 5xx answer as transient', () => {
    expect(classifyLaunchError(awsError('SomethingBroke', 'x', 503))).toBe('transient');
  });

  it('returns errors it does not know untouched', () => {
    const bug = new TypeError('cannot read properties of undefined');
    expect(translateLaunchError(bug, 'op:Call')).toBe(bug);
  });

  it('keeps the SDK message out of the translated error and its cause (it may echo secret values)', () => {
    const leaky = awsError('ValidationException', "Value 'SECRET-JIT-CONFIG' at 'value' failed to satisfy constraint");
    const translated = translateLaunchError(leaky, 'ssm:PutParameter') as Error;
    expect(translated).toBeInstanceOf(LaunchConfigError);
    expect(JSON.stringify({ m: translated.message, c: String(translated.cause) })).not.toContain('SECRET');
    expect((translated.cause as Error).name).toBe('ValidationException');
  });
});
