import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BACKLOG_INDEX,
  KEY_ATTRIBUTE_TYPES,
  LIST_INDEX,
  PARTITION_KEY,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from '../../functions/adapters/dynamodb/table-schema.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { runnerLogFilterPattern } from '../../functions/domain/runner-log-filter.ts';
import { DEFAULT_RUNNER_VERSION } from '../../functions/domain/runner-version.ts';
import { WARM_READY_PHRASE } from '../../functions/domain/warm-ready-line.ts';
import {
  actionsOf,
  logicalId,
  resourcesOfType,
  type Statement,
  type Synthesized,
  statementsOfRole,
  synthesize,
} from './synth-helpers.ts';

let s: Synthesized;
const fnId = (key: keyof Synthesized['stack']['functions']) => logicalId(s.stack, s.stack.functions[key].fn);
const roleId = (key: keyof Synthesized['stack']['functions']) => logicalId(s.stack, s.stack.functions[key].role);

describe('JitRunnersStack (CodeBuild launcher, defaults)', () => {
  beforeAll(() => {
    s = synthesize({ appId: 123456 });
  });

  it('passes the cdk-nag AwsSolutions checks with only reasoned acknowledgements', () => {
    // synthesize() ran app.synth(), which throws ValidationFailed on any unacknowledged finding.
    expect(s.json.Resources).toBeDefined();
  });

  describe('state table', () => {
    it('is on-demand with point-in-time recovery and the TTL attribute of the store schema', () => {
      s.template.hasResourceProperties('AWS::DynamoDB::Table', {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        KeySchema: [
          { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: SORT_KEY, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: LIST_INDEX.sortKey, AttributeType: KEY_ATTRIBUTE_TYPES[LIST_INDEX.sortKey] },
        ]),
        GlobalSecondaryIndexes: [
          Match.objectLike({
            IndexName: LIST_INDEX.name,
            KeySchema: [
              { AttributeName: LIST_INDEX.partitionKey, KeyType: 'HASH' },
              { AttributeName: LIST_INDEX.sortKey, KeyType: 'RANGE' },
            ],
          }),
          Match.objectLike({
            IndexName: BACKLOG_INDEX.name,
            KeySchema: [
              { AttributeName: BACKLOG_INDEX.partitionKey, KeyType: 'HASH' },
              { AttributeName: BACKLOG_INDEX.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          }),
        ],
      });
    });

    it('is retained when the stack is deleted', () => {
      s.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });
  });

  describe('functions', () => {
    it('run ARM64 on the newest Node runtime with JSON logs into their own log group', () => {
      const fns = resourcesOfType(s.json, 'AWS::Lambda::Function');
      expect(fns).toHaveLength(4);
      for (const fn of fns) {
        expect(fn.Properties.Runtime).toBe('nodejs24.x');
        expect(fn.Properties.Architectures).toEqual(['arm64']);
        expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } });
        const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
        // No --enable-source-maps: it costs 20-25 ms of cold start (docs/performance.md).
        expect(env.NODE_OPTIONS).toBeUndefined();
      }
    });

    it('keep their logs for the configured retention', () => {
      const groups = resourcesOfType(s.json, 'AWS::Logs::LogGroup');
      expect(groups.length).toBe(5);
      for (const g of groups) expect(g.Properties.RetentionInDays).toBe(30);
    });

    it('get only docs/design.md "Configuration" names (plus the metrics namespace) in their environment', () => {
      const known = new Set<string>([...Object.values(EnvName), 'POWERTOOLS_METRICS_NAMESPACE']);
      for (const fn of resourcesOfType(s.json, 'AWS::Lambda::Function')) {
        const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
        for (const name of Object.keys(env)) expect(known, name).toContain(name);
        expect(env).toMatchObject({
          [EnvName.githubAppId]: '123456',
          [EnvName.launcher]: 'codebuild',
          [EnvName.runnerVersion]: DEFAULT_RUNNER_VERSION,
          [EnvName.runnerLabels]: 'self-hosted,linux,x64',
          [EnvName.reconcileIntervalSeconds]: '60',
          [EnvName.jitConfigParameterPrefix]: '/JitRunners/jit-config',
          [EnvName.provisionerFunctionName]: 'JitRunners-provisioner',
          [EnvName.maxAttemptsPerJob]: '3',
          [EnvName.maxTheftsPerJob]: '10',
          [EnvName.maxWorkaroundsPerScope]: '3',
          // Discovery of queued jobs is off unless repositories are named.
          [EnvName.discoverQueuedJobs]: '',
        });
      }
    });

    it('never receive the App private key or webhook secret, only the ARNs of their secrets', () => {
      for (const fn of resourcesOfType(s.json, 'AWS::Lambda::Function')) {
        const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
        expect(env).not.toHaveProperty(EnvName.githubAppPrivateKey);
        expect(env).not.toHaveProperty(EnvName.githubWebhookSecret);
        expect(env[EnvName.githubAppPrivateKeySecretArn]).toEqual({ Ref: expect.stringMatching(/AppPrivateKey/) });
        expect(env[EnvName.githubWebhookSecretArn]).toEqual({ Ref: expect.stringMatching(/WebhookSecret/) });
      }
      for (const secret of resourcesOfType(s.json, 'AWS::SecretsManager::Secret')) {
        expect(secret.Properties).not.toHaveProperty('SecretString');
        expect(secret.Properties.GenerateSecretString).toBeDefined();
      }
      expect(JSON.stringify(s.json)).not.toMatch(/BEGIN (RSA )?PRIVATE KEY/);
    });
  });

  describe('webhook', () => {
    it('is served by a Function URL without IAM auth (the HMAC signature is the auth)', () => {
      s.template.hasResourceProperties('AWS::Lambda::Url', {
        AuthType: 'NONE',
        TargetFunctionArn: { 'Fn::GetAtt': [fnId('webhook'), 'Arn'] },
      });
      s.template.hasOutput('WebhookUrl', {
        Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('FunctionUrl'), 'FunctionUrl'] },
      });
    });

    it('answers within GitHub’s 10 s delivery timeout and reserves 50 concurrent executions by default', () => {
      const fn = s.json.Resources[fnId('webhook')];
      expect(fn?.Properties.Timeout).toBeLessThan(10);
      expect(fn?.Properties.ReservedConcurrentExecutions).toBe(50);
      for (const other of ['provisioner', 'runnerEvents', 'reconciler'] as const) {
        expect(s.json.Resources[fnId(other)]?.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
      }
    });
  });

  describe('provisioner', () => {
    it('is invoked asynchronously with retries and an on-failure destination to the dead-letter queue', () => {
      const dlq = logicalId(s.stack, s.stack.deadLetterQueue);
      s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fnId('provisioner') },
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
      });
    });

    it('parks failures in an encrypted, TLS-only queue kept 14 days for redrive', () => {
      s.template.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
      s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it('may be invoked by the functions that dispatch jobs, by exact ARN', () => {
      for (const key of ['webhook', 'provisioner', 'runnerEvents', 'reconciler'] as const) {
        const invoke = statementsOfRole(s.json, roleId(key)).find((st) =>
          actionsOf(st).includes('lambda:InvokeFunction'),
        );
        expect(JSON.stringify(invoke?.Resource)).toContain(':function:JitRunners-provisioner');
        expect(JSON.stringify(invoke?.Resource)).not.toContain('*');
      }
    });
  });

  describe('runner-events', () => {
    it('is fed by a subscription filter on the runner log group with the failure signatures and the warm ready line', () => {
      s.template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
        LogGroupName: { Ref: logicalId(s.stack, s.stack.runnerLogGroup) },
        FilterPattern: runnerLogFilterPattern(),
        DestinationArn: { 'Fn::GetAtt': [fnId('runnerEvents'), 'Arn'] },
      });
      expect(runnerLogFilterPattern()).toContain('?"Failed to get job message"');
      expect(runnerLogFilterPattern()).toContain(`?"${WARM_READY_PHRASE}"`);
    });

    it('receives CodeBuild build state changes of the runner project', () => {
      s.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.codebuild'],
          'detail-type': ['CodeBuild Build State Change'],
          detail: { 'project-name': [{ Ref: Match.stringLikeRegexp('CodeBuildRunnerProject') }] },
        },
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('runnerEvents'), 'Arn'] } })],
      });
    });
  });

  it('runs the reconciler on a schedule from RECONCILE_INTERVAL_SECONDS', () => {
    s.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('reconciler'), 'Arn'] } })],
    });
  });

  describe('CodeBuild runner project', () => {
    it('runs the bootstrap from the runner/ asset and logs to the runner log group', () => {
      s.template.hasResourceProperties('AWS::CodeBuild::Project', {
        Name: 'JitRunners-runner',
        Source: { Type: 'S3', BuildSpec: Match.stringLikeRegexp('bash ./bootstrap.sh') },
        Artifacts: { Type: 'NO_ARTIFACTS' },
        Environment: Match.objectLike({ ComputeType: 'BUILD_GENERAL1_MEDIUM', PrivilegedMode: false }),
        TimeoutInMinutes: 360,
        EncryptionKey: Match.anyValue(),
        LogsConfig: {
          CloudWatchLogs: { Status: 'ENABLED', GroupName: { Ref: logicalId(s.stack, s.stack.runnerLogGroup) } },
        },
      });
    });
  });

  describe('least privilege', () => {
    const allStatements = (): Statement[] =>
      resourcesOfType(s.json, 'AWS::IAM::Policy').flatMap(
        (p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
      );

    it('grants no wildcard actions anywhere', () => {
      for (const st of allStatements()) {
        for (const action of actionsOf(st)) {
          expect(action).not.toBe('*');
          expect(action, action).not.toMatch(/^(dynamodb|secretsmanager|ssm|lambda|codebuild|ec2|sqs):\*$/);
        }
      }
    });

    it('scopes table access to the table, its listing index and its backlog index, never index/*', () => {
      const table = logicalId(s.stack, s.stack.table.table);
      for (const st of allStatements().filter((x) => actionsOf(x).some((a) => a.startsWith('dynamodb:')))) {
        const resources = JSON.stringify(st.Resource);
        expect(resources).toContain(table);
        expect(resources).not.toContain('/index/*');
        // Queries go to the two indexes by name; item requests to the table, held to their key prefixes.
        if (actionsOf(st).includes('dynamodb:Query')) {
          expect(resources).toContain(`/index/${LIST_INDEX.name}`);
          expect(resources).toContain(`/index/${BACKLOG_INDEX.name}`);
        } else {
          expect(resources).not.toContain('/index/');
          expect(st.Condition).toHaveProperty(['ForAllValues:StringLike', 'dynamodb:LeadingKeys']);
        }
      }
    });

    it('lets the functions that list read listed items in batches (the indexes project keys only); not the webhook', () => {
      for (const key of ['provisioner', 'runnerEvents', 'reconciler'] as const) {
        const actions = statementsOfRole(s.json, roleId(key)).flatMap((st) => actionsOf(st));
        expect(actions, key).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:BatchGetItem']));
      }
      const webhook = statementsOfRole(s.json, roleId('webhook')).flatMap((st) => actionsOf(st));
      expect(webhook.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ]);
    });

    it('lets only the webhook read the webhook secret; every other function reads the App key it signs with', () => {
      const reads = (key: 'webhook' | 'provisioner' | 'runnerEvents' | 'reconciler') =>
        statementsOfRole(s.json, roleId(key))
          .filter((st) => actionsOf(st).includes('secretsmanager:GetSecretValue'))
          .map((st) => JSON.stringify(st.Resource))
          .sort();
      // The webhook calls no GitHub API (progress side effects run in the provisioner): no App key.
      expect(reads('webhook')).toEqual([expect.stringMatching(/WebhookSecret/)]);
      for (const key of ['provisioner', 'runnerEvents', 'reconciler'] as const) {
        expect(reads(key)).toEqual([expect.stringMatching(/AppPrivateKey/)]);
      }
    });

    it('lets the functions start/stop/list builds of the runner project only, and the webhook none', () => {
      const webhookBuilds = statementsOfRole(s.json, roleId('webhook')).filter((x) =>
        actionsOf(x).some((a) => a.startsWith('codebuild:') || a.startsWith('ssm:')),
      );
      expect(webhookBuilds).toEqual([]);
      for (const key of ['provisioner', 'runnerEvents', 'reconciler'] as const) {
        const st = statementsOfRole(s.json, roleId(key)).find((x) => actionsOf(x).includes('codebuild:StartBuild'));
        expect(actionsOf(st as Statement).sort()).toEqual(
          [
            'codebuild:BatchGetBuilds',
            'codebuild:ListBuildsForProject',
            'codebuild:StartBuild',
            'codebuild:StopBuild',
          ].sort(),
        );
        expect(st?.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/CodeBuildRunnerProject/), 'Arn'] });
      }
    });

    it('writes JIT configs as SSM parameters under the fleet path only', () => {
      const st = statementsOfRole(s.json, roleId('provisioner')).find((x) => actionsOf(x).includes('ssm:PutParameter'));
      expect(JSON.stringify(st?.Resource)).toContain(':parameter/JitRunners/jit-config/*');
    });

    // What each runner can do to another is proven by evaluating these policies: test/cdk/iam-matrix.test.ts.
    it('gives the runner role the read of its own hand-off (by build ARN) and logs, no delete, neither the table nor the App secrets', () => {
      const runnerRole = logicalId(s.stack, s.stack.launcher.runnerRole as never);
      const statements = statementsOfRole(s.json, runnerRole);
      const actions = statements.flatMap(actionsOf);
      expect(actions).toContain('ssm:GetParameter');
      expect(actions.filter((a) => a.startsWith('ssm:Delete'))).toEqual([]);
      expect(statements.find((st) => st.Sid === 'JitConfigPickUp')?.Condition).toEqual({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, literally
        StringEquals: { 'aws:ResourceTag/jit-runners:reader': '${codebuild:buildArn}' },
      });
      expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
      expect(actions.filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
      expect(actions.filter((a) => a.startsWith('ssm:PutParameter'))).toEqual([]);
      expect(JSON.stringify(statements)).not.toContain(logicalId(s.stack, s.stack.table.table));
      expect(JSON.stringify(statements)).not.toMatch(/AppPrivateKey|WebhookSecret/);
    });
  });

  describe('monitoring', () => {
    it('alarms on dead letters, failed jobs, the metadata-missing rate, breaker open, checksum mismatches, the runner version, refused release tarballs and bad webhook signatures', () => {
      const alarms = resourcesOfType(s.json, 'AWS::CloudWatch::Alarm').map((a) => JSON.stringify(a.Properties));
      expect(alarms).toHaveLength(9);
      expect(alarms.some((a) => a.includes('"MetricName":"RunnerVersionTarballRefused"'))).toBe(true);
      expect(alarms.some((a) => a.includes('ApproximateNumberOfMessagesVisible'))).toBe(true);
      expect(alarms.some((a) => a.includes('"MetricName":"JobFailed"') && a.includes('JitRunners/JitRunners'))).toBe(
        true,
      );
      expect(alarms.some((a) => a.includes('RunnerMetadataMissingLines'))).toBe(true);
      expect(alarms.some((a) => a.includes('BreakerOpened') && a.includes('RunnerBreakerOpenLines'))).toBe(true);
    });

    it("counts the bootstrap's checksum-mismatch lines from the runner log group and alarms on the first", () => {
      s.template.hasResourceProperties('AWS::Logs::MetricFilter', {
        LogGroupName: { Ref: logicalId(s.stack, s.stack.runnerLogGroup) },
        FilterPattern: Match.stringLikeRegexp('checksum mismatch for runner version'),
        MetricTransformations: [Match.objectLike({ MetricName: 'RunnerChecksumMismatchLines', MetricValue: '1' })],
      });
      s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'RunnerChecksumMismatchLines',
        Namespace: 'JitRunners/JitRunners',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      });
    });

    it('counts metadata-missing lines from the runner log group', () => {
      s.template.hasResourceProperties('AWS::Logs::MetricFilter', {
        LogGroupName: { Ref: logicalId(s.stack, s.stack.runnerLogGroup) },
        FilterPattern: Match.stringLikeRegexp('Failed to get job message'),
        MetricTransformations: [Match.objectLike({ MetricName: 'RunnerMetadataMissingLines', MetricValue: '1' })],
      });
    });

    it("alarms when the running runner version is within 7 days of GitHub's cut-off (the reconciler's 0/1 gauge)", () => {
      s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'RunnerVersionCutoffAlarm',
        Namespace: 'JitRunners/JitRunners',
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmDescription: Match.stringLikeRegexp(
          'within 7 days of GitHub.s 30-day cut-off.*jit-runners version status',
        ),
      });
      expect(
        resourcesOfType(s.json, 'AWS::CloudWatch::Alarm').filter(
          (a) => a.Properties.MetricName === 'RunnerVersionCutoffAlarm',
        )[0]?.Properties.Dimensions,
      ).toBeUndefined();
    });

    it('alarms on the first runner version rollback', () => {
      s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'RunnerVersionRollback',
        Namespace: 'JitRunners/JitRunners',
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        AlarmDescription: Match.stringLikeRegexp('rolled back; the release is marked bad'),
      });
    });

    it("has a dashboard, with the days to the runner version's cut-off and its adoptions, promotions and rollbacks", () => {
      s.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      const body = JSON.stringify(resourcesOfType(s.json, 'AWS::CloudWatch::Dashboard')[0]?.Properties.DashboardBody);
      expect(body).toContain("Runner version: days to GitHub's cut-off");
      expect(body).toMatch(/RunnerVersionDaysToCutoff.*Minimum/);
      expect(body).toContain('alarm (7 days)');
      expect(body).toContain('Runner version: adoptions, promotions, rollbacks');
      for (const name of ['RunnerVersionAdopted', 'RunnerVersionPromoted', 'RunnerVersionRollback'])
        expect(body).toContain(name);
    });
  });
});
