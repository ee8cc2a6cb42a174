/**
 * S3 ETags as AWS gives them for SSE-KMS and DSSE-KMS objects: not the MD5 digest of the data
 * (S3 API reference, Object.ETag: "Objects created by the PUT Object, POST Object, or Copy operation
 * ... and are encrypted by SSE-C or SSE-KMS, have ETags that are not an MD5 digest of their object
 * data"). moto gives every single-part object its MD5, so the gateway rewrites the ETag of a KMS
 * object wherever S3 shows it (PutObject, HeadObject, GetObject, CopyObject, the List operations),
 * always to the same value for one object but to different ones for two objects of the same bytes (a copy
 * and its source, multipart ones included: S3's KMS ETags never match between copies), and turns a KMS ETag
 * in a condition (If-Match, CopySourceIfMatch) back into moto's before forwarding.
 *
 * The same answers carry LastModified, which the gateway puts on AWS's clock (the {@link TimeScale}'s offset):
 * S3 and Glue share one clock on AWS, so an object's LastModified and a crawl's StartTime compare as they do there.
 *
 * And an object written through the gateway with a customer-provided key (SSE-C) can be read (HEAD, GET) or copied
 * only with that key's headers, as on S3 ("the correct parameters must be provided"); moto serves it without.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { GetBucketEncryptionCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { s3Location, type AwsErrorSpec } from './aws-protocol';
import type { Moto } from './moto';
import type { TimeScale } from './time-scale';

/** `x-amz-server-side-encryption` values whose objects get ETags that are not MD5 digests. */
const KMS = new Set(['aws:kms', 'aws:kms:dsse']);

/** The operations whose answer carries an object's ETag in a header. */
const ETAG_HEADER_OPERATIONS = new Set(['PutObject', 'HeadObject', 'GetObject']);
/** The operations whose XML answer carries ETags. */
const ETAG_BODY_OPERATIONS = new Set(['CopyObject', 'ListObjects', 'ListObjectsV2', 'ListObjectVersions']);

/** The header that names a customer-provided key's algorithm: on a write or a read, and for a copy's source. */
const SSE_C = 'x-amz-server-side-encryption-customer-algorithm';
const COPY_SOURCE_SSE_C = 'x-amz-copy-source-server-side-encryption-customer-algorithm';

/** Conditional request headers on the object itself, which moto evaluates against its MD5 ETag. */
const CONDITION_HEADERS = ['if-match', 'if-none-match'] as const;

const unquote = (etag: string) => etag.replace(/^(?:"|&quot;|&#34;)|(?:"|&quot;|&#34;)$/g, '');

/**
 * The ETag the gateway shows for a KMS object at `bucket/key` whose ETag (as moto has it) is `motoEtag`. As on S3,
 * it is no digest of the data: two objects with the same bytes (a copy and its source) show different ETags,
 * multipart ones too (`<hex>-<parts>`); one object shows the same one wherever S3 shows it.
 */
export function kmsEtag(motoEtag: string, bucket: string, key: string): string {
  const raw = unquote(motoEtag);
  const match = /^[0-9a-f]{32}(-\d+)?$/.exec(raw);
  if (!match) return motoEtag; // not one of moto's: leave it
  const digest = createHash('sha256').update(`sse-kms:${bucket}/${key}:${raw}`).digest('hex').slice(0, 32);
  return `"${digest}${match[1] ?? ''}"`;
}

export class S3Etags {
  /** `bucket/key` of objects last written through the gateway with a KMS header. */
  private readonly kmsWrites = new Set<string>();
  /** `bucket/key` of objects last written through the gateway with a customer-provided key (SSE-C). */
  private readonly sseCWrites = new Set<string>();
  /**
   * Upload ids of multipart uploads completed through the gateway: S3 answers a second CompleteMultipartUpload of
   * one NoSuchUpload (the upload is gone once completed), where moto 5.2.5 answers 200 again.
   */
  private readonly completedUploads = new Set<string>();

  constructor(
    private readonly moto: Moto,
    /** AWS's clock; @default - the machine's */
    private readonly clock?: Pick<TimeScale, 'offsetMs'>,
  ) {}

  /** moto's time (the machine's clock) on AWS's clock, in whole seconds as S3 gives it. */
  private shifted(time: string, format: (d: Date) => string): string {
    const ms = Date.parse(time);
    const offset = this.clock?.offsetMs ?? 0;
    if (offset === 0 || Number.isNaN(ms)) return time;
    return format(new Date(Math.floor((ms + offset) / 1000) * 1000));
  }

  /** Whether the answer to `operation` may need its ETags rewritten (or, for CompleteMultipartUpload, noting). */
  rewrites(operation: string): boolean {
    return (
      ETAG_HEADER_OPERATIONS.has(operation) ||
      ETAG_BODY_OPERATIONS.has(operation) ||
      operation === 'CompleteMultipartUpload'
    );
  }

  private async head(bucket: string, key: string) {
    try {
      const out = await this.moto.s3('us-east-1').send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { etag: out.ETag ?? '', kms: KMS.has(out.ServerSideEncryption ?? '') };
    } catch {
      return undefined; // no such object: moto answers the request itself
    }
  }

  /**
   * Makes the request's ETag conditions hold as S3's would: a copy's CopySourceIfMatch and
   * CopySourceIfNoneMatch are judged here against the ETag S3 shows for the source (moto 5.2.5 ignores
   * CopySourceIfMatch, so a copy of a source that changed since its HEAD would go through), and a
   * KMS ETag in If-Match or If-None-Match becomes moto's. Answers the error S3 would, or undefined.
   */
  async checkConditions(req: http.IncomingMessage, operation: string): Promise<AwsErrorSpec | undefined> {
    const sseC = this.sseCRefusal(req, operation);
    if (sseC) return sseC;
    if (operation === 'CompleteMultipartUpload' && this.completedUploads.has(uploadIdOf(req))) {
      return {
        status: 404,
        code: 'NoSuchUpload',
        message:
          'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      };
    }
    if (operation === 'CopyObject' || operation === 'UploadPartCopy') {
      const ifMatch = req.headers['x-amz-copy-source-if-match'];
      const ifNoneMatch = req.headers['x-amz-copy-source-if-none-match'];
      const source = copySource(req);
      if ((typeof ifMatch === 'string' || typeof ifNoneMatch === 'string') && source?.bucket && source.key) {
        const found = await this.head(source.bucket, source.key);
        if (found) {
          const shown = unquote(found.kms ? kmsEtag(found.etag, source.bucket, source.key) : found.etag);
          const matches = (given: string) => given.trim() === '*' || unquote(given.trim()) === shown;
          delete req.headers['x-amz-copy-source-if-match'];
          delete req.headers['x-amz-copy-source-if-none-match'];
          if (
            (typeof ifMatch === 'string' && !matches(ifMatch)) ||
            (typeof ifNoneMatch === 'string' && matches(ifNoneMatch))
          ) {
            return {
              status: 412,
              code: 'PreconditionFailed',
              message: 'At least one of the pre-conditions you specified did not hold',
            };
          }
        }
      }
    }
    for (const name of CONDITION_HEADERS) {
      const given = req.headers[name];
      const { bucket, key } = s3Location(req);
      if (typeof given !== 'string' || given.trim() === '*' || !bucket || !key) continue;
      const found = await this.head(bucket, key);
      if (!found?.kms) continue;
      // The ETag S3 showed becomes moto's; any other (moto's MD5 included, which S3 never showed) matches nothing.
      req.headers[name] =
        unquote(kmsEtag(found.etag, bucket, key)) === unquote(given) ? found.etag : `"${'0'.repeat(32)}"`;
    }
    return undefined;
  }

  /** Answers the client with moto's response, its ETags rewritten where the object is KMS-encrypted. */
  async respond(
    operation: string,
    req: http.IncomingMessage,
    upstream: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    const headers = { ...upstream.headers };
    const status = upstream.statusCode ?? 502;
    const kms = KMS.has(String(headers['x-amz-server-side-encryption'] ?? ''));
    const { bucket, key } = s3Location(req);
    if (operation === 'CompleteMultipartUpload') {
      // S3 can answer 200 with an error in the body; only a body naming the object completed the upload.
      const chunks: Buffer[] = [];
      for await (const chunk of upstream) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      if (status === 200 && body.includes('<CompleteMultipartUploadResult')) this.completedUploads.add(uploadIdOf(req));
      delete headers['transfer-encoding'];
      res.writeHead(status, { ...headers, 'content-length': String(body.length) }).end(body);
      return;
    }
    if (ETAG_HEADER_OPERATIONS.has(operation) || status >= 300) {
      // 304 Not Modified names the ETag too.
      if (status < 400 && typeof headers.etag === 'string' && kms && bucket && key) {
        headers.etag = kmsEtag(headers.etag, bucket, key);
      }
      if (operation === 'PutObject' && status < 300 && bucket && key) this.remember(req, bucket, key, kms);
      if (typeof headers['last-modified'] === 'string') {
        headers['last-modified'] = this.shifted(headers['last-modified'], (d) => d.toUTCString());
      }
      res.writeHead(status, headers);
      upstream.pipe(res);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of upstream) chunks.push(chunk as Buffer);
    let body = Buffer.concat(chunks).toString('utf8');
    if (operation === 'CopyObject') {
      if (status < 300 && bucket && key) this.remember(req, bucket, key, kms);
      if (kms && bucket && key)
        body = body.replace(
          /<ETag>([^<]*)<\/ETag>/,
          (_, etag: string) => `<ETag>${xmlQuoted(kmsEtag(xmlText(etag), bucket, key))}</ETag>`,
        );
    } else if (bucket) {
      body = await this.rewriteList(bucket, body);
    }
    body = body.replace(
      /<LastModified>([^<]*)<\/LastModified>/g,
      (_, time: string) => `<LastModified>${this.shifted(time, (d) => d.toISOString())}</LastModified>`,
    );
    delete headers['transfer-encoding'];
    headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(status, headers).end(body);
  }

  private remember(req: http.IncomingMessage, bucket: string, key: string, kms: boolean): void {
    const where = `${bucket}/${key}`;
    if (kms) this.kmsWrites.add(where);
    else this.kmsWrites.delete(where);
    if (req.headers[SSE_C]) this.sseCWrites.add(where);
    else this.sseCWrites.delete(where);
  }

  /** S3's answer to a read or copy of an SSE-C object that does not give the key, or undefined. */
  private sseCRefusal(req: http.IncomingMessage, operation: string): AwsErrorSpec | undefined {
    const read = operation === 'HeadObject' || operation === 'GetObject';
    const copy = operation === 'CopyObject' || operation === 'UploadPartCopy';
    const object = read ? s3Location(req) : copy ? copySource(req) : undefined;
    if (!object?.bucket || !object.key || !this.sseCWrites.has(`${object.bucket}/${object.key}`)) return undefined;
    if (req.headers[read ? SSE_C : COPY_SOURCE_SSE_C]) return undefined;
    return {
      status: 400,
      code: 'InvalidRequest',
      message:
        'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
    };
  }

  /**
   * Rewrites the ETag of every KMS object a list names. In a bucket whose default encryption is KMS
   * each listed object is asked after (an object can still be written with SSE-S3 there); elsewhere
   * only objects written with a KMS header can be KMS objects, and the gateway saw those writes.
   */
  private async rewriteList(bucket: string, body: string): Promise<string> {
    const entries = [...body.matchAll(/<(Contents|Version)>([\s\S]*?)<\/\1>/g)];
    const keyOf = (entry: string) => xmlText(/<Key>([^<]*)<\/Key>/.exec(entry)?.[1] ?? '');
    const kmsKeys = new Set<string>();
    if (await this.kmsByDefault(bucket)) {
      const keys = [...new Set(entries.map((e) => keyOf(e[2]!)))];
      for (let i = 0; i < keys.length; i += 16) {
        const batch = keys.slice(i, i + 16);
        const found = await Promise.all(batch.map((key) => this.head(bucket, key)));
        batch.forEach((key, j) => found[j]?.kms && kmsKeys.add(key));
      }
    } else {
      for (const e of entries) if (this.kmsWrites.has(`${bucket}/${keyOf(e[2]!)}`)) kmsKeys.add(keyOf(e[2]!));
    }
    if (kmsKeys.size === 0) return body;
    return body.replace(/<(Contents|Version)>([\s\S]*?)<\/\1>/g, (whole, _tag: string, inner: string) =>
      kmsKeys.has(keyOf(inner))
        ? whole.replace(
            /<ETag>([^<]*)<\/ETag>/,
            (_, etag: string) => `<ETag>${xmlQuoted(kmsEtag(xmlText(etag), bucket, keyOf(inner)))}</ETag>`,
          )
        : whole,
    );
  }

  private async kmsByDefault(bucket: string): Promise<boolean> {
    try {
      const out = await this.moto.s3('us-east-1').send(new GetBucketEncryptionCommand({ Bucket: bucket }));
      return (out.ServerSideEncryptionConfiguration?.Rules ?? []).some((rule) =>
        KMS.has(rule.ApplyServerSideEncryptionByDefault?.SSEAlgorithm ?? ''),
      );
    } catch {
      return false; // no default encryption configured
    }
  }
}

/** The `uploadId` query parameter of a multipart upload request. */
const uploadIdOf = (req: http.IncomingMessage) =>
  new URL(req.url ?? '/', 'http://x').searchParams.get('uploadId') ?? '';

/** The bucket and key an `x-amz-copy-source` header names (`bucket/key` or `/bucket/key`, URL-encoded). */
function copySource(req: http.IncomingMessage): { bucket?: string; key?: string } | undefined {
  const header = req.headers['x-amz-copy-source'];
  if (typeof header !== 'string') return undefined;
  const path = decodeURIComponent(header.replace(/^\//, '').split('?')[0]!);
  const slash = path.indexOf('/');
  return slash < 0 ? undefined : { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

const xmlText = (text: string) =>
  text.replace(/&(lt|gt|amp|quot|apos|#\d+);/g, (entity: string, name: string) =>
    name.startsWith('#')
      ? String.fromCharCode(Number(name.slice(1)))
      : ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[name]!,
  );

const xmlQuoted = (etag: string) => etag.replace(/"/g, '&quot;');
