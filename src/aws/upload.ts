/**
 * Uploads local files to buckets in several regions at once, reading each file once: every part read
 * from disk goes to every region's multipart upload before the next is read. For the starter that
 * uploads a user's CSVs (not an activity: it runs where the files are).
 */
import fs from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { AwsClients } from './clients';

const MiB = 1024 * 1024;

export interface UploadDestination {
  region: string;
  bucket: string;
}

export interface UploadFileOptions {
  /** Size of each part read and sent; the same in every region, so every copy gets the same ETag. @default 16 MiB */
  partSizeBytes?: number;
  /** Parts in flight at once (each held in memory once, sent to every region). @default 4 */
  partsInFlight?: number;
  /** @default 'text/csv' for .csv files, else 'application/octet-stream' */
  contentType?: string;
  /** Aborts every upload. */
  abortSignal?: AbortSignal;
}

export interface UploadFileResult {
  key: string;
  bytes: number;
  /** ETag per destination, `<region>/<bucket>`: equal everywhere, since the parts are. */
  etags: Record<string, string>;
  /** Bytes read from disk: equals `bytes`, whatever the number of regions. */
  bytesRead: number;
}

/** Uploads one file to `key` in every destination, reading it once. */
export async function uploadFile(
  aws: AwsClients,
  filePath: string,
  key: string,
  destinations: UploadDestination[],
  options: UploadFileOptions = {},
): Promise<UploadFileResult> {
  const partSize = options.partSizeBytes ?? 16 * MiB;
  if (partSize < 5 * MiB) throw new RangeError(`partSizeBytes ${partSize} is below S3's minimum part size of 5 MiB`);
  const inFlight = Math.max(1, options.partsInFlight ?? 4);
  const contentType = options.contentType ?? (filePath.endsWith('.csv') ? 'text/csv' : 'application/octet-stream');
  const signal = options.abortSignal;
  const file = await fs.open(filePath, 'r');
  try {
    const { size } = await file.stat();
    let bytesRead = 0;
    const read = async (position: number, length: number) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead: n } = await file.read(buffer, 0, length, position);
      bytesRead += n;
      return buffer.subarray(0, n);
    };
    const name = (d: UploadDestination) => `${d.region}/${d.bucket}`;

    if (size <= partSize) {
      const body = await read(0, size);
      const outs = await Promise.all(
        destinations.map((d) =>
          aws
            .s3(d.region)
            .send(new PutObjectCommand({ Bucket: d.bucket, Key: key, Body: body, ContentType: contentType }), {
              abortSignal: signal,
            }),
        ),
      );
      return {
        key,
        bytes: size,
        bytesRead,
        etags: Object.fromEntries(destinations.map((d, i) => [name(d), outs[i]?.ETag ?? ''])),
      };
    }

    return await uploadInParts(aws, { key, size, partSize, inFlight, contentType, signal, read }, destinations, () => ({
      bytesRead,
    }));
  } finally {
    await file.close();
  }
}

/** What {@link uploadInParts} needs of the file and the settings. */
interface PartUpload {
  key: string;
  size: number;
  partSize: number;
  inFlight: number;
  contentType: string;
  signal: AbortSignal | undefined;
  /** Reads `length` bytes of the file at `position`. */
  read: (position: number, length: number) => Promise<Buffer>;
}

/** A multipart upload of one file to every destination at once, reading each part once; aborted on failure. */
async function uploadInParts(
  aws: AwsClients,
  { key, size, partSize, inFlight, contentType, signal, read }: PartUpload,
  destinations: UploadDestination[],
  counted: () => { bytesRead: number },
): Promise<UploadFileResult> {
  const name = (d: UploadDestination) => `${d.region}/${d.bucket}`;
  const uploads = await Promise.all(
    destinations.map(async (d) => {
      const out = await aws
        .s3(d.region)
        .send(new CreateMultipartUploadCommand({ Bucket: d.bucket, Key: key, ContentType: contentType }), {
          abortSignal: signal,
        });
      return { d, uploadId: out.UploadId!, etags: [] as string[] };
    }),
  );
  try {
    await sendParts(aws, uploads, { key, size, partSize, inFlight, signal, read });
    const done = await Promise.all(
      uploads.map((u) =>
        aws.s3(u.d.region).send(
          new CompleteMultipartUploadCommand({
            Bucket: u.d.bucket,
            Key: key,
            UploadId: u.uploadId,
            MultipartUpload: { Parts: u.etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          }),
          { abortSignal: signal },
        ),
      ),
    );
    return {
      key,
      bytes: size,
      ...counted(),
      etags: Object.fromEntries(uploads.map((u, i) => [name(u.d), done[i]?.ETag ?? ''])),
    };
  } catch (err) {
    await Promise.all(
      uploads.map((u) =>
        aws
          .s3(u.d.region)
          .send(new AbortMultipartUploadCommand({ Bucket: u.d.bucket, Key: key, UploadId: u.uploadId }))
          .catch(() => undefined),
      ),
    );
    throw err;
  }
}

/** Uploads the file's parts to every open upload, `inFlight` parts at a time; the first failure stops it. */
async function sendParts(
  aws: AwsClients,
  uploads: { d: UploadDestination; uploadId: string; etags: string[] }[],
  { key, size, partSize, inFlight, signal, read }: Omit<PartUpload, 'contentType'>,
): Promise<void> {
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  for (let position = 0, partNumber = 1; position < size; position += partSize, partNumber++) {
    const body = await read(position, Math.min(partSize, size - position));
    const n = partNumber;
    const sent = Promise.all(
      uploads.map(async (u) => {
        const out = await aws.s3(u.d.region).send(
          new UploadPartCommand({
            Bucket: u.d.bucket,
            Key: key,
            UploadId: u.uploadId,
            PartNumber: n,
            Body: body,
          }),
          { abortSignal: signal },
        );
        u.etags[n - 1] = out.ETag ?? '';
      }),
    ).then(
      () => undefined,
      (err: unknown) => {
        failure ??= err;
      },
    );
    pending.add(sent);
    void sent.finally(() => pending.delete(sent));
    if (pending.size >= inFlight) await Promise.race(pending);
    if (failure !== undefined) break;
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
}

/** Uploads several files (one after another, each to every destination at once). */
export async function uploadFiles(
  aws: AwsClients,
  files: { path: string; key: string }[],
  destinations: UploadDestination[],
  options: UploadFileOptions = {},
): Promise<UploadFileResult[]> {
  const results: UploadFileResult[] = [];
  for (const f of files) results.push(await uploadFile(aws, f.path, f.key, destinations, options));
  return results;
}
