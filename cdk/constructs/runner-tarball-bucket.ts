import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RUNNER_TARBALL_PREFIX } from '../../functions/adapters/s3/s3-runner-tarball-cache.ts';
import { acknowledgeGuard, GuardRule } from './acknowledge-guard.ts';

/** Days an unused tarball stays: an adopted version is replaced within GitHub's 30-day window, so 90 is ample. */
export const TARBALL_EXPIRATION_DAYS = 90;

/**
 * The fleet's runner tarball cache (docs/design.md "What runs where"): one private bucket, the reconciler
 * writes each adopted version's verified tarballs under `runner-tarballs/`, the runners' bootstrap copies
 * theirs from there instead of github.com. Public access blocked, TLS only, SSE-S3 (the tarballs are
 * public release assets: no customer key needed), no versioning (a key is only ever written with the
 * bytes of its release digest), old tarballs expire. RETAIN like the state table: a stack deletion must not
 * fail on a non-empty bucket, and the cache is rebuilt by the next adoption anyway.
 */
export class RunnerTarballBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [
        {
          id: 'ExpireOldTarballs',
          prefix: RUNNER_TARBALL_PREFIX,
          expiration: Duration.days(TARBALL_EXPIRATION_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const acknowledge = (rule: string, reason: string) => acknowledgeGuard(this.bucket, rule, reason);
    const access =
      'The bucket holds only copies of public actions/runner release tarballs, written by the reconciler role alone and read by the runner roles, each object verified against its release digest before the upload and again by every bootstrap; CloudTrail data events can be enabled on it where an audit requires an access trail.';
    acknowledge(GuardRule.s3AccessLogging, access);
    Validations.of(this.bucket).acknowledge({ id: 'AwsSolutions-S1', reason: access });
    acknowledge(
      GuardRule.s3Kms,
      'The objects are public release assets: their protection is integrity (the SHA-256 checked on upload and on every boot), not secrecy; SSE-S3 encrypts them at rest, and a customer key would only add kms:Decrypt to every runner role.',
    );
    acknowledge(
      GuardRule.s3Versioning,
      'A key is only ever written with the bytes of its release digest, so an older version could only be a copy of the same bytes; the cache is rebuilt from the release by the next adoption, and versions would keep 200 MB duplicates past the expiration rule.',
    );
    acknowledge(
      GuardRule.s3ObjectLock,
      'Object Lock needs versioning and forbids the expiration of old tarballs, which the cache relies on; nothing in it is a record to preserve.',
    );
    acknowledge(
      GuardRule.s3EventNotifications,
      'Nothing reacts to a cache write: the reconciler writes on adopt and logs it, the runners read on boot.',
    );
  }

  /** Acknowledges the `runner-tarballs/*` object wildcard on a role that was granted it. */
  #acknowledgeWildcard(role: iam.IRole): void {
    const logicalId = Stack.of(this).resolve((this.bucket.node.defaultChild as CfnElement).logicalId) as string;
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${RUNNER_TARBALL_PREFIX}*]`,
      reason:
        "Tarball keys are named by runner version and platform, which the reconciler adopts at run time; the wildcard covers only runner-tarballs/ of the fleet's own cache bucket.",
    });
  }

  /** The ARN pattern of the tarball objects: `…:bucket/runner-tarballs/*`. */
  get tarballObjects(): string {
    return this.bucket.arnForObjects(`${RUNNER_TARBALL_PREFIX}*`);
  }

  /**
   * The reconciler: read (GetObject, which also authorizes HeadObject) and write tarballs, nothing else
   * of the bucket: no list, no delete.
   */
  grantCacheWrite(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunnerTarballCacheWrite',
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [this.tarballObjects],
      }),
    );
    this.#acknowledgeWildcard(role);
  }

  /** A runner role: read tarballs only (no list, no write). */
  grantTarballRead(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunnerTarballCacheRead',
        actions: ['s3:GetObject'],
        resources: [this.tarballObjects],
      }),
    );
    this.#acknowledgeWildcard(role);
  }
}
