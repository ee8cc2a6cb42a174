/**
 * S3 buckets: each created with SSE-S3 default encryption, public access blocked and (when the spec
 * asks) versioning; an existing one gets whichever of those it lacks.
 */
import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import { primaryRegion } from '../workflow-safe/layout';
import type { PipelineSpec } from '../workflow-safe/spec';
import { bucketRegionOf, errorName, httpStatusOf as httpStatus, isAccessDenied } from '../aws/errors';
import { ProvisionError, read, readFailure, update, type Change, type FieldChange } from './change';

/** The buckets the spec needs, with their regions: every curated bucket; raw in the primary (and every region when staged there). */
export function bucketsOf(spec: PipelineSpec): { bucket: string; region: string; role: 'raw' | 'curated' }[] {
  const primary = primaryRegion(spec).region;
  return spec.regions.flatMap((r) => [
    ...(r.region === primary || spec.raw.stageToAllRegions
      ? [{ bucket: r.rawBucket, region: r.region, role: 'raw' as const }]
      : []),
    { bucket: r.curatedBucket, region: r.region, role: 'curated' as const },
  ]);
}

const ENCRYPTION = 'default encryption' as const;
const PUBLIC_ACCESS_BLOCK = 'public access block' as const;
const VERSIONING = 'versioning' as const;
/** The bucket settings provisioning makes, and the permission each needs. */
const BUCKET_SETTING_PERMISSION = {
  [ENCRYPTION]: 's3:PutEncryptionConfiguration',
  [PUBLIC_ACCESS_BLOCK]: 's3:PutBucketPublicAccessBlock',
  [VERSIONING]: 's3:PutBucketVersioning',
};
type BucketSetting = keyof typeof BUCKET_SETTING_PERMISSION;
const PUBLIC_ACCESS_FLAGS = [
  'BlockPublicAcls',
  'IgnorePublicAcls',
  'BlockPublicPolicy',
  'RestrictPublicBuckets',
] as const;
const settingPermissions = (bucket: string, settings: BucketSetting[]) =>
  `${settings.map((s) => BUCKET_SETTING_PERMISSION[s]).join(', ')} on ${bucket}`;

/** What a bucket needs, as a plan: a create, an update of the settings it lacks, or nothing. */
export async function planBucket(s3: S3Client, bucket: string, region: string, versioning: boolean): Promise<Change[]> {
  const resource = `S3 bucket ${bucket} (${region})`;
  const settings: BucketSetting[] = [ENCRYPTION, PUBLIC_ACCESS_BLOCK, ...(versioning ? [VERSIONING] : [])];
  if (!(await bucketExists(s3, bucket, region, resource))) {
    return [
      {
        action: 'create',
        resource,
        detail: `default encryption SSE-S3, public access blocked${versioning ? ', versioning enabled' : ''}`,
        permission: `s3:CreateBucket, ${settingPermissions(bucket, settings)}`,
        apply: async () => {
          await s3.send(
            new CreateBucketCommand({
              Bucket: bucket,
              ...(region === 'us-east-1'
                ? {}
                : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
            }),
          );
          await configureBucket(s3, bucket, settings);
        },
      },
    ];
  }
  await checkBucketRegion(s3, bucket, region, resource);
  const fields = await bucketDrift(s3, bucket, resource, versioning);
  const needs = fields.map((f) => f.field);
  return update(resource, fields, settingPermissions(bucket, needs), () => configureBucket(s3, bucket, needs));
}

/** HeadBucket: false for a bucket that does not exist; a ProvisionError for one that is elsewhere or not ours. */
async function bucketExists(s3: S3Client, bucket: string, region: string, resource: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (err) {
    if (httpStatus(err) === 404 || errorName(err) === 'NotFound' || errorName(err) === 'NoSuchBucket') return false;
    if (httpStatus(err) === 301)
      throw new ProvisionError(
        `S3 bucket ${bucket} exists in ${bucketRegionOf(err) ?? 'another region'}, but the spec puts it in ${region} ` +
          '(S3 answered 301): rename it in the spec, or move the region. Nothing was changed.',
        { cause: err },
      );
    if (isAccessDenied(err))
      throw new ProvisionError(
        `${resource} exists but these credentials cannot use it: it may belong to another account (bucket names are global), ` +
          'or they lack s3:ListBucket. Rename the bucket in the spec or grant access. Nothing was changed.',
        { cause: err },
      );
    throw readFailure(resource, err);
  }
}

async function checkBucketRegion(s3: S3Client, bucket: string, region: string, resource: string): Promise<void> {
  const location = await read(`the region of ${resource}`, `s3:GetBucketLocation on ${bucket}`, () =>
    s3.send(new GetBucketLocationCommand({ Bucket: bucket })),
  );
  const actual = location?.LocationConstraint || 'us-east-1';
  if (actual !== region) {
    throw new ProvisionError(
      `S3 bucket ${bucket} exists in ${actual}, but the spec puts it in ${region}: rename it in the spec, or move the region. Nothing was changed.`,
    );
  }
}

/** The settings an existing bucket lacks. */
async function bucketDrift(
  s3: S3Client,
  bucket: string,
  resource: string,
  versioning: boolean,
): Promise<(FieldChange & { field: BucketSetting })[]> {
  const encryption = await read(
    `the default encryption of ${resource}`,
    `s3:GetEncryptionConfiguration on ${bucket}`,
    () => s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })),
    ['ServerSideEncryptionConfigurationNotFoundError'],
  );
  const block = await read(
    `the public access block of ${resource}`,
    `s3:GetBucketPublicAccessBlock on ${bucket}`,
    () => s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket })),
    ['NoSuchPublicAccessBlockConfiguration'],
  );
  const blocked = PUBLIC_ACCESS_FLAGS.filter((flag) => block?.PublicAccessBlockConfiguration?.[flag]);
  const fields: (FieldChange & { field: BucketSetting })[] = [];
  // Any default encryption will do (SSE-KMS is stronger): only a bucket with none gets SSE-S3.
  if (!encryption?.ServerSideEncryptionConfiguration?.Rules?.length) fields.push({ field: ENCRYPTION, to: 'SSE-S3' });
  if (blocked.length < PUBLIC_ACCESS_FLAGS.length) {
    fields.push({
      field: PUBLIC_ACCESS_BLOCK,
      from: blocked.join(' ') || undefined,
      to: PUBLIC_ACCESS_FLAGS.join(' '),
    });
  }
  if (versioning) {
    const state = await read(`the versioning of ${resource}`, `s3:GetBucketVersioning on ${bucket}`, () =>
      s3.send(new GetBucketVersioningCommand({ Bucket: bucket })),
    );
    if (state?.Status !== 'Enabled') fields.push({ field: VERSIONING, from: state?.Status, to: 'Enabled' });
  }
  return fields;
}

async function configureBucket(s3: S3Client, bucket: string, what: BucketSetting[]): Promise<void> {
  if (what.includes(ENCRYPTION))
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      }),
    );
  if (what.includes(PUBLIC_ACCESS_BLOCK))
    await s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: bucket,
        PublicAccessBlockConfiguration: Object.fromEntries(PUBLIC_ACCESS_FLAGS.map((flag) => [flag, true])),
      }),
    );
  if (what.includes(VERSIONING))
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
}
