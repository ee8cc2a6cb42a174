/**
 * Creates the Redshift targets a spec names on the local stack, through the APIs one uses on AWS:
 * Redshift Serverless CreateNamespace and CreateWorkgroup (a workgroup's namespace takes its name),
 * and Redshift CreateCluster. The local Data API runs statements only against targets that exist,
 * as AWS does. Creating one that exists already changes nothing.
 */
import type { RedshiftTarget, PipelineSpec } from '../src/workflow-safe/spec';

/**
 * The credential scope the gateway reads the region and service from. Neither the gateway nor moto
 * checks signatures, so these calls need no SDK client of their own.
 */
function authorization(region: string, service: string): string {
  return `AWS4-HMAC-SHA256 Credential=local/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
}

/** One awsJson call; resolves with the error code (`ConflictException`) or undefined on success. */
async function serverless(endpoint: string, region: string, operation: string, input: unknown) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `RedshiftServerless.${operation}`,
      authorization: authorization(region, 'redshift-serverless'),
    },
    body: JSON.stringify(input),
  });
  const text = await res.text();
  if (res.ok) return undefined;
  const code = res.headers.get('x-amzn-errortype') ?? 'UnknownError';
  if (code !== 'ConflictException') {
    throw new Error(`RedshiftServerless.${operation} in ${region} answered ${res.status}: ${text.slice(0, 300)}`);
  }
  return code;
}

/** Creates one workgroup (with a namespace of its name) or cluster in `region`, unless it exists. */
export async function createRedshiftTarget(
  endpoint: string,
  region: string,
  target: Pick<RedshiftTarget, 'workgroupName' | 'clusterIdentifier' | 'database'>,
): Promise<void> {
  if (target.workgroupName) {
    const namespaceName = target.workgroupName;
    await serverless(endpoint, region, 'CreateNamespace', { namespaceName, dbName: target.database });
    await serverless(endpoint, region, 'CreateWorkgroup', { workgroupName: target.workgroupName, namespaceName });
    return;
  }
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: authorization(region, 'redshift'),
    },
    body: new URLSearchParams({
      Action: 'CreateCluster',
      Version: '2012-12-01',
      ClusterIdentifier: target.clusterIdentifier ?? '',
      NodeType: 'ra3.xlplus',
      ClusterType: 'single-node',
      MasterUsername: 'awsuser',
      // Never used: the local databases take no password. CreateCluster requires one.
      MasterUserPassword: 'Local-only-1',
      DBName: target.database,
    }),
  });
  const text = await res.text();
  if (!res.ok && !text.includes('ClusterAlreadyExists')) {
    throw new Error(`Redshift CreateCluster ${target.clusterIdentifier} in ${region} answered ${res.status}: ${text}`);
  }
}

/** Creates every Redshift target the spec's regions name, on the local stack at `endpoint`. */
export async function createSpecRedshiftTargets(endpoint: string, spec: Pick<PipelineSpec, 'regions'>): Promise<void> {
  for (const region of spec.regions) {
    if (region.redshift) await createRedshiftTarget(endpoint, region.region, region.redshift);
  }
}

/**
 * Opens the databases of the spec's Redshift targets on the local stack now, and keeps them open: the embedded
 * databases otherwise open on a pipeline's first statement, which then waits seconds for them.
 */
export async function warmSpecRedshiftTargets(controlUrl: string, spec: Pick<PipelineSpec, 'regions'>): Promise<void> {
  for (const { region, redshift } of spec.regions) {
    if (!redshift) continue;
    const res = await fetch(`${controlUrl}/redshift/warm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        region,
        database: redshift.database,
        workgroupName: redshift.workgroupName,
        clusterIdentifier: redshift.clusterIdentifier,
      }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`warming the Redshift database of ${region} answered ${res.status}: ${text}`);
  }
}
