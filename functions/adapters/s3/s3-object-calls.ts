import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3ObjectCalls } from './s3-runner-tarball-cache.ts';

/** The two S3 calls of the tarball cache, on the AWS SDK's client (one HeadObject, one PutObject). */
export function s3ObjectCalls(client: S3Client): S3ObjectCalls {
  return {
    async headObject(input) {
      const answer = await client.send(new HeadObjectCommand(input));
      return { Metadata: answer.Metadata };
    },
    async putObject(input) {
      return client.send(new PutObjectCommand(input));
    },
  };
}
