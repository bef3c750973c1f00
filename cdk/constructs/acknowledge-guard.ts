import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one Control Tower proactive-control finding of the CloudFormation Guard validator
 * (cdk/nag.ts `addGuardChecks`) on one construct and what it holds, with the reason. The rule names are
 * the validator's (`lambda_inside_vpc_check`, …; docs/decisions.md "Second validator" lists each).
 */
export function acknowledgeGuard(scope: IConstruct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `cdk-validator-cfnguard::${rule}`, reason });
}

/** The Control Tower rules the deployment acknowledges somewhere, by control id. */
export const GuardRule = {
  /** CT.LAMBDA.PR.2 */
  lambdaPublicAccess: 'lambda_function_public_access_prohibited_check',
  /** CT.LAMBDA.PR.3 */
  lambdaInVpc: 'lambda_inside_vpc_check',
  /** CT.LAMBDA.PR.5 */
  lambdaUrlIamAuth: 'lambda_function_url_auth_check',
  /** CT.CLOUDWATCH.PR.1 */
  alarmAction: 'cloudwatch_alarm_action_check',
  /** CT.CLOUDWATCH.PR.2 */
  logRetentionYear: 'cloudwatch_log_group_retention_period_check',
  /** CT.CLOUDWATCH.PR.3 */
  logGroupKms: 'cloudwatch_log_group_encrypted_check',
  /** CT.S3.PR.2 */
  s3AccessLogging: 's3_bucket_logging_enabled_check',
  /** CT.S3.PR.4 */
  s3EventNotifications: 's3_event_notifications_enabled_check',
  /** CT.S3.PR.9 */
  s3ObjectLock: 's3_bucket_object_lock_enabled_check',
  /** CT.S3.PR.10 */
  s3Kms: 's3_bucket_default_encryption_kms_check',
  /** CT.S3.PR.11 */
  s3Versioning: 's3_bucket_versioning_enabled_check',
  /** CT.EC2.PR.10 */
  launchTemplateMonitoring: 'ec2_launch_template_monitoring_enabled_check',
} as const;

/** Days of retention CT.CLOUDWATCH.PR.2 asks for. */
export const GUARD_MIN_LOG_RETENTION_DAYS = 365;

/** Acknowledges the two log-group controls a log group of this deployment may fail, with their reasons. */
export function acknowledgeLogGroup(logGroup: IConstruct, retentionDays: number): void {
  acknowledgeGuard(
    logGroup,
    GuardRule.logGroupKms,
    'CloudWatch Logs encrypts every log group at rest with its own keys; these lines carry no secret (the functions redact the App key, webhook secret, tokens and JIT configs before a line is written, and runners get no secret in their environment), so a customer managed key would add a key policy and cost without keeping anything from a reader the IAM policies let in.',
  );
  if (retentionDays < GUARD_MIN_LOG_RETENTION_DAYS) {
    acknowledgeGuard(
      logGroup,
      GuardRule.logRetentionYear,
      `Retention is the deployment's logRetentionDays (${retentionDays} days here; default 30): operational diagnostics of ephemeral runners and the functions, whose durable record is the state table. Set logRetentionDays to 365 or more where a retention policy applies, and this control passes unacknowledged.`,
    );
  }
}
