/**
 * S3 objects: list, head, delete, read and write (copies are in s3-copy.ts). Every call that fails throws an
 * {@link AwsCallError} naming the object or the bucket; each takes the activity's abort signal.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
  type _Error as S3KeyError,
} from '@aws-sdk/client-s3';
import { s3Uri as uri } from '../workflow-safe/layout';
import { awsCall, awsErrorName, type AwsTarget } from './errors';

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call (the activity's cancellation). @default - not abortable */
  abortSignal?: AbortSignal;
}

const missingBucketFix = 'create the bucket (npm run provision) or fix the bucket name in the spec';

/** Every key under `prefix` (folder markers left out), with its size and LastModified: a paged ListObjectsV2. */
export async function listKeys(
  s3: S3Client,
  where: { region: string; bucket: string; prefix: string },
  { abortSignal }: CallOptions = {},
): Promise<{ key: string; size?: number; lastModified?: Date }[]> {
  const target: AwsTarget = {
    operation: 'ListObjectsV2',
    resource: `bucket ${where.bucket}`,
    region: where.region,
    notFoundFix: missingBucketFix,
  };
  const found: { key: string; size?: number; lastModified?: Date }[] = [];
  let token: string | undefined;
  do {
    const page = await awsCall(target, () =>
      s3.send(new ListObjectsV2Command({ Bucket: where.bucket, Prefix: where.prefix, ContinuationToken: token }), {
        abortSignal,
      }),
    );
    for (const o of page.Contents ?? []) {
      if (o.Key && !o.Key.endsWith('/')) found.push({ key: o.Key, size: o.Size, lastModified: o.LastModified });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found;
}

/** One object in one region. */
export interface ObjectRef {
  region: string;
  bucket: string;
  key: string;
}

const headTarget = ({ region, bucket, key }: ObjectRef): AwsTarget => ({
  operation: 'HeadObject',
  resource: `object ${uri(bucket, key)}`,
  bucket,
  region,
  notFoundFix: 'check the bucket and key, or run the step that writes it first',
});

/** HeadObject with its checksums (of one part, with `partNumber`). */
export async function headObject(
  s3: S3Client,
  object: ObjectRef,
  options: CallOptions & { partNumber?: number } = {},
): Promise<HeadObjectCommandOutput> {
  const { bucket: Bucket, key: Key } = object;
  return awsCall(headTarget(object), () =>
    s3.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED', PartNumber: options.partNumber }), {
      abortSignal: options.abortSignal,
    }),
  );
}

/** HEAD that answers undefined when the object is not there (a destination not yet written). */
export async function headIfExists(
  s3: S3Client,
  object: ObjectRef,
  options: CallOptions = {},
): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await headObject(s3, object, options);
  } catch (err) {
    const name = awsErrorName(err);
    if (name === 'NotFound' || name === 'NoSuchKey') return undefined;
    throw err;
  }
}

/** Keys DeleteObjects takes in one request. */
export const DELETE_BATCH_KEYS = 1000;

/** One DeleteObjects of at most {@link DELETE_BATCH_KEYS} keys. @returns S3's per-key errors */
export async function deleteKeys(
  s3: S3Client,
  where: { region: string; bucket: string },
  keys: string[],
  { abortSignal }: CallOptions = {},
): Promise<S3KeyError[]> {
  const target = { operation: 'DeleteObjects', resource: `bucket ${where.bucket}`, region: where.region };
  const out = await awsCall(target, () =>
    s3.send(
      new DeleteObjectsCommand({
        Bucket: where.bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
      { abortSignal },
    ),
  );
  return out.Errors ?? [];
}

/** The object's body as UTF-8 text. */
export async function getObjectText(s3: S3Client, object: ObjectRef, options: CallOptions = {}): Promise<string> {
  return (await getObjectRead(s3, object, options)).text;
}

/**
 * The object's body as UTF-8 text, with the ETag and VersionId of what was read. With `ifMatch`, S3 answers it only
 * while the object's ETag is that one, else PreconditionFailed (412): the object was rewritten since.
 */
export async function getObjectRead(
  s3: S3Client,
  object: ObjectRef,
  { abortSignal, ifMatch }: CallOptions & { ifMatch?: string } = {},
): Promise<{ text: string; etag?: string; versionId?: string }> {
  const target = {
    operation: 'GetObject',
    resource: `object ${uri(object.bucket, object.key)}`,
    region: object.region,
  };
  const out = await awsCall(target, () =>
    s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key, IfMatch: ifMatch }), { abortSignal }),
  );
  return {
    text: (await out.Body?.transformToString('utf-8')) ?? '',
    ...(out.ETag ? { etag: out.ETag } : {}),
    ...(out.VersionId && out.VersionId !== 'null' ? { versionId: out.VersionId } : {}),
  };
}

/** Writes `text` (UTF-8) as the object, with its content type. */
export async function putObjectText(
  s3: S3Client,
  object: ObjectRef,
  text: string,
  contentType: string,
  { abortSignal }: CallOptions = {},
): Promise<void> {
  const target: AwsTarget = { ...headTarget(object), operation: 'PutObject', notFoundFix: missingBucketFix };
  await awsCall(target, () =>
    s3.send(new PutObjectCommand({ Bucket: object.bucket, Key: object.key, Body: text, ContentType: contentType }), {
      abortSignal,
    }),
  );
}
