/**
 * S3's region rule, which moto does not keep: a request for a bucket signed for another region than the bucket's
 * gets 301 PermanentRedirect, with the bucket's region in `x-amz-bucket-region` (no body for HEAD), as S3 answers
 * it. GetBucketLocation answers from any region (it is how a caller learns the region), and CreateBucket and
 * ListBuckets name no existing bucket.
 */
import { GetBucketLocationCommand } from '@aws-sdk/client-s3';
import type { AwsErrorSpec } from './aws-protocol';
import type { Moto } from './moto';

/** Operations S3 serves whatever the request's region. */
const ANY_REGION = new Set(['CreateBucket', 'ListBuckets', 'GetBucketLocation']);

/** Buckets' regions, read from moto once per bucket (forgotten when a bucket is created or deleted). */
export class S3BucketRegions {
  private readonly regions = new Map<string, string>();

  constructor(private readonly moto: Moto) {}

  /** The 301 S3 gives `operation` on `bucket` signed for `region`, or undefined when S3 serves it. */
  async redirect(region: string, operation: string, bucket: string | undefined): Promise<AwsErrorSpec | undefined> {
    if (!bucket) return undefined;
    if (operation === 'CreateBucket' || operation === 'DeleteBucket') this.regions.delete(bucket);
    if (ANY_REGION.has(operation)) return undefined;
    const home = await this.regionOf(bucket);
    if (!home || home === region) return undefined;
    return {
      status: 301,
      code: 'PermanentRedirect',
      message:
        'The bucket you are attempting to access must be addressed using the specified endpoint. ' +
        'Please send all future requests to this endpoint.',
      headers: { 'x-amz-bucket-region': home },
    };
  }

  private async regionOf(bucket: string): Promise<string | undefined> {
    const known = this.regions.get(bucket);
    if (known) return known;
    const region = await bucketRegion(this.moto, bucket);
    if (region) this.regions.set(bucket, region);
    return region;
  }
}

/**
 * A bucket's region, as moto's GetBucketLocation gives it (no LocationConstraint is us-east-1); undefined when
 * there is no such bucket (or moto could not say), so the caller lets moto answer the request itself.
 */
export async function bucketRegion(moto: Moto, bucket: string): Promise<string | undefined> {
  try {
    const out = await moto.s3('us-east-1').send(new GetBucketLocationCommand({ Bucket: bucket }));
    return out.LocationConstraint || 'us-east-1';
  } catch {
    return undefined;
  }
}
