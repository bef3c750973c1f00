import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { launchIdOfLogStream, parseRunnerEvents } from '../../functions/handlers/runner-events-input.ts';

const UUID = '0b8f5c3e-1d2a-4c3b-9e8f-7a6b5c4d3e2f';
const logs = (logStream: string, messages: string[], messageType = 'DATA_MESSAGE') => ({
  awslogs: {
    data: gzipSync(
      JSON.stringify({
        messageType,
        logGroup: '/jit-runners/X/runners',
        logStream,
        logEvents: messages.map((message, i) => ({ id: String(i), timestamp: 1000 + i, message })),
      }),
    ).toString('base64'),
  },
});

describe('launchIdOfLogStream', () => {
  it('maps CodeBuild and EC2 log streams to launch ids and ignores others', () => {
    expect(launchIdOfLogStream(`codebuild/${UUID}`, 'proj')).toBe(`proj:${UUID}`);
    expect(launchIdOfLogStream('ec2/i-0123456789abcdef0', undefined)).toBe('i-0123456789abcdef0');
    expect(launchIdOfLogStream(`codebuild/${UUID}`, undefined)).toBeUndefined();
    expect(launchIdOfLogStream('something/else', 'proj')).toBeUndefined();
  });
});

describe('parseRunnerEvents', () => {
  it('turns a subscription batch into one log signal per line, keyed by launch id', () => {
    const pending = parseRunnerEvents(
      logs(`codebuild/${UUID}`, ['Failed to get job message: Bad Request', 'x']),
      'proj',
    );
    expect(pending).toHaveLength(2);
    const [first] = pending;
    expect(first && 'toSignal' in first && first.launchId).toBe(`proj:${UUID}`);
    expect(first && 'toSignal' in first && first.toSignal('jr-1-1')).toEqual({
      kind: 'log',
      runnerName: 'jr-1-1',
      line: 'Failed to get job message: Bad Request',
      source: `cloudwatch:codebuild/${UUID}`,
      at: 1000,
      launchId: `proj:${UUID}`,
    });
  });

  it('ignores CloudWatch control messages', () => {
    expect(parseRunnerEvents(logs(`codebuild/${UUID}`, ['x'], 'CONTROL_MESSAGE'), 'proj')).toEqual([]);
  });

  it('reads the runner name of a CodeBuild state change from the build environment', () => {
    const [p] = parseRunnerEvents(
      {
        source: 'aws.codebuild',
        'detail-type': 'CodeBuild Build State Change',
        time: '2026-01-01T00:00:00Z',
        detail: {
          'build-status': 'FAILED',
          'project-name': 'proj',
          'build-id': `arn:aws:codebuild:eu-west-1:123456789012:build/proj:${UUID}`,
          'additional-information': {
            environment: { 'environment-variables': [{ name: 'JR_RUNNER_NAME', value: 'jr-7-2' }] },
          },
        },
      },
      'proj',
    );
    expect(p).toEqual({
      signal: { kind: 'state', runnerName: 'jr-7-2', state: 'failed', at: Date.parse('2026-01-01T00:00:00Z') },
      launchId: `proj:${UUID}`,
    });
  });

  it('keys an EC2 state change by instance id', () => {
    const [p] = parseRunnerEvents(
      {
        source: 'aws.ec2',
        'detail-type': 'EC2 Instance State-change Notification',
        time: '2026-01-01T00:00:00Z',
        detail: { 'instance-id': 'i-0abc', state: 'terminated' },
      },
      undefined,
    );
    expect(p && 'toSignal' in p && p.launchId).toBe('i-0abc');
    expect(p && 'toSignal' in p && p.toSignal('jr-1-1')).toMatchObject({ kind: 'state', state: 'terminated' });
  });

  it('gives nothing for shapes it does not know', () => {
    expect(parseRunnerEvents({ hello: 'world' }, 'proj')).toEqual([]);
    expect(parseRunnerEvents(null, 'proj')).toEqual([]);
  });
});
