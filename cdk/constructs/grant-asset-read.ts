import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';

/**
 * Read access to exactly one asset object (instead of `Asset.grantRead`, which grants `s3:GetObject*`,
 * `s3:List*` on the whole CDK assets bucket, where every function bundle of the account's CDK apps
 * lies). `bucketInfo` adds what a CodeBuild S3 source also needs: CodeBuild checks the bucket's ACL and
 * region before it fetches the object; it never lists the bucket.
 */
export function grantAssetRead(role: iam.IRole, asset: Asset, bucketInfo: boolean): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      ...(bucketInfo ? { sid: 'ReadRunnerSource' } : {}),
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resources: [asset.bucket.arnForObjects(asset.s3ObjectKey)],
    }),
  );
  if (bucketInfo) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunnerSourceBucketInfo',
        actions: ['s3:GetBucketAcl', 's3:GetBucketLocation'],
        resources: [asset.bucket.bucketArn],
      }),
    );
  }
}

/**
 * A CodeBuild S3 source that grants nothing itself (`Source.s3` binds `bucket.grantRead`, which lists
 * and reads the whole bucket); pair it with {@link grantAssetRead}`(role, asset, true)`.
 */
class AssetObjectSource extends codebuild.Source {
  readonly type = 'S3';
  readonly #location: string;

  constructor(asset: Asset) {
    super({});
    this.#location = `${asset.s3BucketName}/${asset.s3ObjectKey}`;
  }

  override bind(scope: Parameters<codebuild.Source['bind']>[0], project: codebuild.IProject): codebuild.SourceConfig {
    return { sourceProperty: { ...super.bind(scope, project).sourceProperty, location: this.#location } };
  }
}

/** The asset as a CodeBuild source whose read permission is exactly the object (see {@link grantAssetRead}). */
export function assetObjectSource(asset: Asset): codebuild.ISource {
  return new AssetObjectSource(asset);
}
