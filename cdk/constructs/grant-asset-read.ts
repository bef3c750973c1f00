import * as iam from 'aws-cdk-lib/aws-iam';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';

/**
 * Read access to exactly one asset object (instead of `Asset.grantRead`, which grants `s3:GetObject*`,
 * `s3:List*` on the whole bootstrap bucket). `bucketInfo` adds what a CodeBuild S3 source also needs.
 */
export function grantAssetRead(role: iam.IRole, asset: Asset, bucketInfo: boolean): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resources: [asset.bucket.arnForObjects(asset.s3ObjectKey)],
    }),
  );
  if (bucketInfo) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetBucketAcl', 's3:GetBucketLocation'],
        resources: [asset.bucket.bucketArn],
      }),
    );
  }
}
