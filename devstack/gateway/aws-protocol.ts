/**
 * What the gateway needs to know of AWS's wire protocols: which service, region and operation a
 * request is (from its SigV4 credential scope, X-Amz-Target, query Action or S3 REST shape), and how
 * each protocol spells an error, so injected faults and the gateway's own errors look like AWS's.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';

/** The wire protocols the gateway tells apart. */
export type AwsProtocol = 'json' | 'query' | 's3' | 'other';

/** Who a request is for and what it asks, as far as the gateway can tell without moto. */
export interface AwsRequestIdentity {
  /** The signing name from the credential scope (`s3`, `glue`, `redshift-data`, ...), or `unknown`. */
  service: string;
  /** The signing region from the credential scope. @default - `us-east-1` when the request is unsigned */
  region: string;
  /** AWS's operation name (`GetJobRun`, `PutObject`), or `Unknown`. */
  operation: string;
  protocol: AwsProtocol;
}

/** `Credential=AKID/20260101/<region>/<service>/aws4_request` in the Authorization header. */
const CREDENTIAL_SCOPE = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;

/** Region and service from a SigV4 Authorization header (or a presigned URL's X-Amz-Credential). */
export function credentialScope(req: http.IncomingMessage): { region: string; service: string } | undefined {
  const auth = req.headers.authorization ?? '';
  const match = CREDENTIAL_SCOPE.exec(auth);
  if (match) return { region: match[1]!, service: match[2]! };
  const credential = new URL(req.url ?? '/', 'http://x').searchParams.get('X-Amz-Credential');
  const parts = credential?.split('/');
  if (parts && parts.length === 5) return { region: parts[2]!, service: parts[3]! };
  return undefined;
}

/** Whether the request's operation can be read without its body (JSON target, S3 REST shape). */
export function needsBodyToIdentify(req: http.IncomingMessage): boolean {
  return (
    !req.headers['x-amz-target'] && (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
  );
}

/** Identifies a request. `body` is needed only for the query protocol (`Action=` in a form body). */
export function identify(req: http.IncomingMessage, body?: Buffer): AwsRequestIdentity {
  const scope = credentialScope(req);
  const service = scope?.service ?? 'unknown';
  const region = scope?.region ?? 'us-east-1';
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    return { service, region, operation: target.slice(target.lastIndexOf('.') + 1), protocol: 'json' };
  }
  if (service === 's3') return { service, region, operation: s3Operation(req), protocol: 's3' };
  const url = new URL(req.url ?? '/', 'http://x');
  const action =
    url.searchParams.get('Action') ??
    (body && needsBodyToIdentify(req) ? new URLSearchParams(body.toString('utf8')).get('Action') : null);
  if (action) return { service, region, operation: action, protocol: 'query' };
  return { service, region, operation: 'Unknown', protocol: 'other' };
}

/** Bucket and key of an S3 request, path-style (`/bucket/key`) or virtual-hosted (`bucket.host/key`). */
export function s3Location(req: http.IncomingMessage): { bucket?: string; key?: string } {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname.slice(1);
  const host = (req.headers.host ?? '').split(':')[0] ?? '';
  const virtualHost = /^(.+)\.s3[.-]/.exec(host) ?? /^(.+)\.localhost$/.exec(host);
  if (virtualHost) return { bucket: virtualHost[1], key: path ? decodeURIComponent(path) : undefined };
  if (!path) return {};
  const slash = path.indexOf('/');
  if (slash < 0) return { bucket: decodeURIComponent(path) };
  const key = path.slice(slash + 1);
  return { bucket: decodeURIComponent(path.slice(0, slash)), key: key ? decodeURIComponent(key) : undefined };
}

/**
 * Bucket sub-resources (`?versioning`, `?policy`) and the operation name stem S3 gives them:
 * GET reads `GetBucket<stem>`, PUT `PutBucket<stem>`, DELETE `DeleteBucket<stem>`.
 */
const BUCKET_SUBRESOURCES: Record<string, string> = {
  accelerate: 'AccelerateConfiguration',
  acl: 'Acl',
  analytics: 'AnalyticsConfiguration',
  cors: 'Cors',
  encryption: 'Encryption',
  'intelligent-tiering': 'IntelligentTieringConfiguration',
  inventory: 'InventoryConfiguration',
  lifecycle: 'LifecycleConfiguration',
  location: 'Location',
  logging: 'Logging',
  metrics: 'MetricsConfiguration',
  notification: 'NotificationConfiguration',
  ownershipControls: 'OwnershipControls',
  policy: 'Policy',
  policyStatus: 'PolicyStatus',
  publicAccessBlock: 'PublicAccessBlock',
  replication: 'Replication',
  requestPayment: 'RequestPayment',
  tagging: 'Tagging',
  versioning: 'Versioning',
  website: 'Website',
  'object-lock': 'ObjectLockConfiguration',
};

/** Object sub-resources and their operation stem: `GetObject<stem>`, `PutObject<stem>`, `DeleteObject<stem>`. */
const OBJECT_SUBRESOURCES: Record<string, string> = {
  acl: 'Acl',
  attributes: 'Attributes',
  'legal-hold': 'LegalHold',
  retention: 'Retention',
  tagging: 'Tagging',
  torrent: 'Torrent',
};

const METHOD_VERB: Record<string, string> = { GET: 'Get', PUT: 'Put', DELETE: 'Delete' };

/** S3's operation name for a REST request, from its method, path, query and headers. */
export function s3Operation(req: http.IncomingMessage): string {
  const method = req.method ?? 'GET';
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const { bucket, key } = s3Location(req);
  const copySource = req.headers['x-amz-copy-source'] !== undefined;
  if (!bucket) return method === 'GET' ? 'ListBuckets' : 'Unknown';
  if (key === undefined) {
    const sub = Object.keys(BUCKET_SUBRESOURCES).find((name) => query.has(name));
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'POST' && query.has('delete')) return 'DeleteObjects';
    if (method === 'GET') {
      if (query.get('list-type') === '2') return 'ListObjectsV2';
      if (query.has('versions')) return 'ListObjectVersions';
      if (query.has('uploads')) return 'ListMultipartUploads';
    }
    if (sub && METHOD_VERB[method]) return `${METHOD_VERB[method]}Bucket${BUCKET_SUBRESOURCES[sub]}`;
    return { GET: 'ListObjects', PUT: 'CreateBucket', DELETE: 'DeleteBucket' }[method] ?? 'Unknown';
  }
  const uploadId = query.has('uploadId');
  switch (method) {
    case 'HEAD':
      return 'HeadObject';
    case 'POST':
      if (query.has('uploads')) return 'CreateMultipartUpload';
      if (uploadId) return 'CompleteMultipartUpload';
      if (query.has('restore')) return 'RestoreObject';
      if (query.has('select')) return 'SelectObjectContent';
      return 'Unknown';
    case 'PUT':
      if (uploadId && query.has('partNumber')) return copySource ? 'UploadPartCopy' : 'UploadPart';
      if (copySource) return 'CopyObject';
      break;
    case 'GET':
      if (uploadId) return 'ListParts';
      break;
    case 'DELETE':
      if (uploadId) return 'AbortMultipartUpload';
      break;
  }
  const sub = Object.keys(OBJECT_SUBRESOURCES).find((name) => query.has(name));
  const verb = METHOD_VERB[method];
  if (!verb) return 'Unknown';
  return `${verb}Object${sub ? OBJECT_SUBRESOURCES[sub] : ''}`;
}

/** An error as the gateway will send it, in whichever protocol the request used. */
export interface AwsErrorSpec {
  status: number;
  /** AWS's error code: `ThrottlingException`, `SlowDown`, `ValidationException`. */
  code: string;
  message: string;
  /** Headers the error carries (S3's 301 names the bucket's region in one). @default - none */
  headers?: Record<string, string>;
}

/** An AWS error the gateway's own handlers throw; the router writes it in the request's protocol. */
export class AwsError extends Error implements AwsErrorSpec {
  override readonly name = 'AwsError';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Writes an error in the protocol's own format, so the SDK deserializes it into its named exception. */
export function writeAwsError(res: http.ServerResponse, protocol: AwsProtocol, error: AwsErrorSpec, method = 'GET') {
  const requestId = randomUUID();
  if (protocol === 'json' || protocol === 'other') {
    const body = JSON.stringify({ __type: error.code, message: error.message });
    res
      .writeHead(error.status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': error.code,
        'content-length': Buffer.byteLength(body),
      })
      .end(body);
    return;
  }
  const xml =
    protocol === 's3'
      ? `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(error.code)}</Code>` +
        `<Message>${xmlEscape(error.message)}</Message><RequestId>${requestId}</RequestId><HostId>gateway</HostId></Error>`
      : `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>${error.status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
        `<Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message></Error>` +
        `<RequestId>${requestId}</RequestId></ErrorResponse>`;
  // A HEAD response has no body: the SDK reads the code from the status alone.
  const body = method === 'HEAD' ? '' : xml;
  res
    .writeHead(error.status, {
      'content-type': 'application/xml',
      'x-amz-request-id': requestId,
      'x-amzn-requestid': requestId,
      'content-length': Buffer.byteLength(body),
      ...error.headers,
    })
    .end(body);
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Writes an awsJson1_1 success response. */
export function writeJson(res: http.ServerResponse, body: unknown) {
  const text = JSON.stringify(body);
  res
    .writeHead(200, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUUID(),
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}

/** Epoch seconds, as awsJson protocols send timestamps. */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}

/** Reads a request body whole. */
export async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
