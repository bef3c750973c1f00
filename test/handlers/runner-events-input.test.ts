import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeRunnerEvent,
  launchIdOfLogStream,
  parseRunnerEvents,
} from '../../functions/handlers/runner-events-input.ts';

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
      signal: {
        kind: 'state',
        runnerName: 'jr-7-2',
        state: 'failed',
        at: Date.parse('2026-01-01T00:00:00Z'),
        launchId: `proj:${UUID}`,
      },
      launchId: `proj:${UUID}`,
    });
  });

  it("carries the bootstrap's exit status from the failed BUILD phase's context", () => {
    const event = (phases: unknown) => ({
      source: 'aws.codebuild',
      'detail-type': 'CodeBuild Build State Change',
      time: '2026-01-01T00:00:00Z',
      detail: {
        'build-status': 'FAILED',
        'build-id': `arn:aws:codebuild:eu-west-1:123456789012:build/proj:${UUID}`,
        'additional-information': {
          phases,
          environment: { 'environment-variables': [{ name: 'JR_RUNNER_NAME', value: 'jr-7-2' }] },
        },
      },
    });
    const signalOf = (phases: unknown) => {
      const [p] = parseRunnerEvents(event(phases), 'proj');
      return p && 'signal' in p ? p.signal : undefined;
    };
    const failedBuild = [
      { 'phase-type': 'SUBMITTED', 'phase-status': 'SUCCEEDED', 'phase-context': [] },
      {
        'phase-type': 'BUILD',
        'phase-status': 'FAILED',
        'phase-context': [
          'COMMAND_EXECUTION_ERROR: Error while executing command: bash ./bootstrap.sh. Reason: exit status 4',
        ],
      },
    ];
    expect(signalOf(failedBuild)).toMatchObject({ kind: 'state', state: 'failed', exitCode: 4 });
    // Another phase's context is not the bootstrap's exit; no context, no exit code; odd entries are only ignored.
    expect(
      signalOf([{ 'phase-type': 'PRE_BUILD', 'phase-context': ['COMMAND_EXECUTION_ERROR: Reason: exit status 4'] }]),
    ).not.toHaveProperty('exitCode');
    expect(signalOf(undefined)).not.toHaveProperty('exitCode');
    expect(signalOf([{ 'phase-type': 'BUILD', 'phase-context': [null, 7, ': Reason: exit status 6'] }])).toMatchObject({
      exitCode: 6,
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

describe('decodeRunnerEvent', () => {
  const SECRET = 'ghs_TOKEN_FROM_A_RUNNER_LINE';
  const gz = (value: unknown) => gzipSync(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');
  const codebuild = (detail: Record<string, unknown>, time: unknown = '2026-01-01T00:00:00Z') => ({
    source: 'aws.codebuild',
    'detail-type': 'CodeBuild Build State Change',
    time,
    detail: { 'project-name': 'proj', ...detail },
  });
  const ec2 = (detail: Record<string, unknown>) => ({
    source: 'aws.ec2',
    'detail-type': 'EC2 Instance State-change Notification',
    time: '2026-01-01T00:00:00Z',
    detail,
  });

  const dropped = (event: unknown) => {
    const decoded = decodeRunnerEvent(event, 'proj');
    if (decoded.ok) throw new Error(`expected a drop, got ${decoded.pending.length} signals`);
    return decoded;
  };

  it('drops a logs subscription whose data is not base64, not gzip or not JSON, saying which', () => {
    expect(dropped({ awslogs: { data: `not base64!${SECRET}` } })).toEqual({
      ok: false,
      shape: 'cloudwatch-logs',
      reason: 'awslogs.data is not base64',
    });
    expect(dropped({ awslogs: { data: Buffer.from(SECRET).toString('base64') } }).reason).toBe(
      'awslogs.data is not gzip',
    );
    expect(dropped({ awslogs: { data: gz(`{"messageType": "DATA_MESSAGE", ${SECRET}`) } }).reason).toBe(
      'awslogs.data is not JSON once unzipped',
    );
  });

  it('drops a logs subscription without data or with a batch missing its fields', () => {
    expect(dropped({ awslogs: {} })).toMatchObject({ shape: 'cloudwatch-logs', reason: 'awslogs.data: invalid_type' });
    expect(dropped({ awslogs: { data: '' } }).reason).toBe('awslogs.data: too_small');
    expect(dropped({ awslogs: { data: gz({ logStream: `codebuild/${UUID}` }) } }).reason).toBe(
      'messageType: invalid_type',
    );
    expect(
      dropped({ awslogs: { data: gz({ messageType: 'DATA_MESSAGE', logGroup: 'g', logStream: `codebuild/${UUID}` }) } })
        .reason,
    ).toBe('logEvents: invalid_type');
    expect(
      dropped({
        awslogs: {
          data: gz({
            messageType: 'DATA_MESSAGE',
            logGroup: 'g',
            logStream: `codebuild/${UUID}`,
            logEvents: [{ id: '1', timestamp: 'yesterday', message: SECRET }],
          }),
        },
      }).reason,
    ).toBe('logEvents.0.timestamp: invalid_type');
  });

  it('drops a CodeBuild state change missing its status or build id, or with a time that is not one', () => {
    const id = `arn:aws:codebuild:eu-west-1:123456789012:build/proj:${UUID}`;
    expect(dropped(codebuild({ 'build-id': id }))).toEqual({
      ok: false,
      shape: 'codebuild-state',
      reason: 'detail.build-status: invalid_type',
    });
    expect(dropped(codebuild({ 'build-status': 'FAILED' })).reason).toBe('detail.build-id: invalid_type');
    expect(dropped(codebuild({ 'build-status': 'FAILED', 'build-id': 'proj-without-arn' })).reason).toBe(
      'detail.build-id: invalid_format',
    );
    expect(dropped(codebuild({ 'build-status': 'FAILED', 'build-id': id }, 'soon')).reason).toBe('time: custom');
    expect(
      dropped(
        codebuild({
          'build-status': 'FAILED',
          'build-id': id,
          'additional-information': { environment: { 'environment-variables': [{ value: SECRET }] } },
        }),
      ).reason,
    ).toBe('detail.additional-information.environment.environment-variables.0.name: invalid_type');
    expect(dropped({ ...codebuild({ 'build-status': 'FAILED', 'build-id': id }), detail: 'x' }).reason).toBe(
      'detail: invalid_type',
    );
  });

  it('drops an EC2 state change missing its instance id or state', () => {
    expect(dropped(ec2({ state: 'terminated' }))).toEqual({
      ok: false,
      shape: 'ec2-state',
      reason: 'detail.instance-id: invalid_type',
    });
    expect(dropped(ec2({ 'instance-id': 'i-0abc', state: '' })).reason).toBe('detail.state: too_small');
    expect(dropped({ source: 'aws.ec2' }).reason).toBe(
      'detail-type: invalid_type; time: invalid_type; detail: invalid_type',
    );
  });

  it('drops events of no known shape, and null, strings and arrays', () => {
    expect(dropped({ hello: SECRET })).toMatchObject({ shape: 'unknown' });
    expect(dropped({ source: 'aws.s3', detail: {} })).toMatchObject({ shape: 'unknown' });
    expect(dropped(null).reason).toBe('the event is null');
    expect(dropped(SECRET).reason).toBe('the event is string');
    expect(dropped([1, 2])).toMatchObject({ shape: 'unknown' });
  });

  it('never puts a value of the event in the reason', () => {
    const events = [
      { awslogs: { data: `${SECRET}!` } },
      { awslogs: { data: Buffer.from(SECRET).toString('base64') } },
      { awslogs: { data: gz({ messageType: 'DATA_MESSAGE', logGroup: SECRET, logStream: 1, logEvents: [SECRET] }) } },
      codebuild({ 'build-status': 7, 'build-id': SECRET }, SECRET),
      ec2({ 'instance-id': 42, state: { SECRET } }),
      SECRET,
    ];
    for (const e of events) expect(dropped(e).reason).not.toContain('TOKEN');
  });

  it('accepts the well-formed shapes, unknown extra fields included', () => {
    const decoded = decodeRunnerEvent(
      { ...ec2({ 'instance-id': 'i-0abc', state: 'running', extra: true }), account: '123', resources: [] },
      undefined,
    );
    expect(decoded).toMatchObject({ ok: true, shape: 'ec2-state' });
    expect(decodeRunnerEvent(logs(`codebuild/${UUID}`, ['x'], 'CONTROL_MESSAGE'), 'proj')).toEqual({
      ok: true,
      shape: 'cloudwatch-logs',
      pending: [],
    });
  });

  it('never throws, whatever JSON value arrives', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ awslogs: fc.record({ data: fc.oneof(fc.string(), fc.base64String(), fc.jsonValue()) }) }),
          fc.record({
            source: fc.constantFrom('aws.codebuild', 'aws.ec2'),
            time: fc.oneof(
              fc.string(),
              fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            ),
            'detail-type': fc.string(),
            detail: fc.dictionary(
              fc.constantFrom('build-status', 'build-id', 'instance-id', 'state', 'additional-information'),
              fc.jsonValue(),
            ),
          }),
        ),
        (event) => {
          const decoded = decodeRunnerEvent(event, 'proj');
          expect(typeof decoded.ok).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });
});
