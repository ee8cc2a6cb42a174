import { GlueClient } from '@aws-sdk/client-glue';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentity } from '@aws-sdk/types';

/** AWS clients per region, built once and reused. */
export interface AwsClients {
  s3(region: string): S3Client;
  glue(region: string): GlueClient;
  /**
   * Glue with the SDK's own retries off (one attempt per send), for StartJobRun: it has no idempotency token,
   * so a request whose answer was lost must not be sent again before the run-tag lookup has looked for its run.
   */
  glueNoRetry(region: string): GlueClient;
  redshiftData(region: string): RedshiftDataClient;
}

export interface AwsClientsOptions {
  /** One endpoint for every service, such as the local stack's gateway. @default - AWS's own endpoints */
  endpoint?: string;
  /** @default - the SDK's default credential chain */
  credentials?: AwsCredentialIdentity;
  /** Retries the SDK makes itself before an activity attempt fails. @default 3 */
  maxAttempts?: number;
}

/** Builds AWS clients per region on first use and reuses them (they hold connection pools). */
export function createAwsClients(options: AwsClientsOptions = {}): AwsClients {
  const common = (region: string) => ({
    region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    maxAttempts: options.maxAttempts ?? 3,
  });
  const cache = <T>(make: (region: string) => T) => {
    const clients = new Map<string, T>();
    return (region: string): T => {
      let client = clients.get(region);
      if (!client) clients.set(region, (client = make(region)));
      return client;
    };
  };
  return {
    // Path-style addressing only off AWS: a local endpoint has no per-bucket DNS names.
    s3: cache((region) => new S3Client({ ...common(region), forcePathStyle: options.endpoint !== undefined })),
    glue: cache((region) => new GlueClient(common(region))),
    glueNoRetry: cache((region) => new GlueClient({ ...common(region), maxAttempts: 1 })),
    redshiftData: cache((region) => new RedshiftDataClient(common(region))),
  };
}
