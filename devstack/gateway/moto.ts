/**
 * The gateway's own calls to moto, which keeps the definitions (jobs, crawlers, buckets) the gateway
 * reads but does not own. Raw awsJson for calls whose answer the gateway passes on or merges; SDK
 * clients for typed reads.
 */
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { AwsError } from './aws-protocol';

/** Where moto listens, and clients for it per region. */
export class Moto {
  private readonly glueClients = new Map<string, GlueClient>();
  private readonly s3Clients = new Map<string, S3Client>();

  constructor(readonly url: URL) {}

  /** Options for an SDK client that talks to moto directly (no gateway counts, no faults). */
  private clientConfig(region: string) {
    return {
      region,
      endpoint: this.url.href,
      forcePathStyle: true,
      credentials: { accessKeyId: 'gateway', secretAccessKey: 'gateway' },
      maxAttempts: 1,
    };
  }

  glue(region: string): GlueClient {
    let client = this.glueClients.get(region);
    if (!client) this.glueClients.set(region, (client = new GlueClient(this.clientConfig(region))));
    return client;
  }

  s3(region: string): S3Client {
    let client = this.s3Clients.get(region);
    if (!client) this.s3Clients.set(region, (client = new S3Client(this.clientConfig(region))));
    return client;
  }

  /**
   * Sends one awsJson1_1 call to moto and returns its parsed answer; moto's errors come back as
   * {@link AwsError} with moto's code and message, so the caller can pass them on unchanged.
   */
  async json<T>(region: string, service: string, target: string, input: unknown): Promise<T> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': target,
        // moto reads the region (and service) from the credential scope; it does not check the signature.
        authorization: `AWS4-HMAC-SHA256 Credential=gateway/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(input),
    });
    const text = await res.text();
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    if (!res.ok) {
      const type = String(body.__type ?? res.headers.get('x-amzn-errortype') ?? 'InternalServiceException');
      throw new AwsError(
        type.slice(type.lastIndexOf('#') + 1),
        String(body.message ?? body.Message ?? text),
        res.status,
      );
    }
    return body as T;
  }
}
