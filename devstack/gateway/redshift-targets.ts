/**
 * The Redshift targets a Data API statement may name, as on AWS only those that exist: Redshift
 * Serverless namespaces and workgroups (`X-Amz-Target: RedshiftServerless.<Op>`, served here, as
 * moto has no Redshift Serverless) and provisioned clusters (Redshift's own CreateCluster and
 * DescribeClusters, which moto serves). Workgroups are kept in a JSON file beside the databases, so
 * they outlive a restart of the stack as the databases do.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AwsError } from './aws-protocol';
import type { AwsJsonCall, JsonService } from './router';

/** The account id moto answers with, so ARNs look alike across services. */
const ACCOUNT = '123456789012';

interface Namespace {
  namespaceName: string;
  namespaceId: string;
  dbName: string;
  creationDate: string;
}

interface Workgroup {
  workgroupName: string;
  workgroupId: string;
  namespaceName: string;
  creationDate: string;
}

interface RegionState {
  namespaces: Record<string, Namespace>;
  workgroups: Record<string, Workgroup>;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** Namespace and workgroup names, as the Redshift Serverless API reference constrains them. */
const SERVERLESS_NAME = { min: 3, max: 64, pattern: /^[a-z0-9-]+$/ };
/** The Data API's WorkgroupName: a workgroup name or its ARN. */
const WORKGROUP_NAME_OR_ARN = {
  min: 3,
  max: 128,
  pattern:
    /^(([a-z0-9-]+)|(arn:(aws(-[a-z]+)*):redshift-serverless:[a-z]{2}(-gov)?-[a-z]+-\d{1}:\d{12}:workgroup\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))$/,
};

/**
 * Refuses a member that breaks its model's length or pattern constraint, with the ValidationException an AWS service
 * answers for it.
 */
function checkMember(field: string, value: string, { min, max, pattern }: typeof SERVERLESS_NAME): string {
  const broken =
    value.length < min || value.length > max
      ? `Member must have length between ${min} and ${max}`
      : !pattern.test(value)
        ? `Member must satisfy regular expression pattern: ${pattern.source}`
        : undefined;
  if (broken) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${broken}`,
    );
  }
  return value;
}

/** Refuses a Data API WorkgroupName the Data API would (before it looks for the workgroup). */
export function checkDataApiWorkgroupName(value: string): void {
  checkMember('workgroupName', value, WORKGROUP_NAME_OR_ARN);
}

export interface RedshiftTargetsOptions {
  /** The JSON file workgroups and namespaces are kept in. */
  file: string;
  /** moto, which serves provisioned clusters. */
  motoUrl: URL;
}

export class RedshiftTargets implements JsonService {
  private readonly regions: Record<string, RegionState>;

  constructor(private readonly options: RedshiftTargetsOptions) {
    this.regions = fs.existsSync(options.file)
      ? (JSON.parse(fs.readFileSync(options.file, 'utf8')) as Record<string, RegionState>)
      : {};
  }

  private state(region: string): RegionState {
    return (this.regions[region] ??= { namespaces: {}, workgroups: {} });
  }

  private save(): void {
    fs.mkdirSync(path.dirname(this.options.file), { recursive: true });
    fs.writeFileSync(this.options.file, JSON.stringify(this.regions, null, 2));
  }

  serves(operation: string): boolean {
    return [
      'CreateNamespace',
      'GetNamespace',
      'CreateWorkgroup',
      'GetWorkgroup',
      'ListWorkgroups',
      'DeleteWorkgroup',
    ].includes(operation);
  }

  resourceOf({ input }: AwsJsonCall): string | undefined {
    return str(input.workgroupName) ?? str(input.namespaceName);
  }

  async handle({ region, operation, input }: AwsJsonCall): Promise<unknown> {
    const state = this.state(region);
    switch (operation) {
      case 'CreateNamespace': {
        const namespaceName = serverlessName(input, 'namespaceName');
        if (state.namespaces[namespaceName]) {
          throw new AwsError('ConflictException', `Namespace ${namespaceName} already exists.`);
        }
        const namespace: Namespace = {
          namespaceName,
          namespaceId: randomUUID(),
          dbName: str(input.dbName) ?? 'dev',
          creationDate: new Date().toISOString(),
        };
        state.namespaces[namespaceName] = namespace;
        this.save();
        return { namespace: this.namespaceOut(region, namespace) };
      }
      case 'GetNamespace':
        return { namespace: this.namespaceOut(region, existing(state.namespaces, 'Namespace', input)) };
      case 'CreateWorkgroup': {
        const workgroupName = serverlessName(input, 'workgroupName');
        const namespaceName = serverlessName(input, 'namespaceName');
        if (!state.namespaces[namespaceName]) {
          throw new AwsError('ResourceNotFoundException', `Namespace ${namespaceName} not found.`);
        }
        if (state.workgroups[workgroupName]) {
          throw new AwsError('ConflictException', `Workgroup ${workgroupName} already exists.`);
        }
        const workgroup: Workgroup = {
          workgroupName,
          workgroupId: randomUUID(),
          namespaceName,
          creationDate: new Date().toISOString(),
        };
        state.workgroups[workgroupName] = workgroup;
        this.save();
        return { workgroup: this.workgroupOut(region, workgroup) };
      }
      case 'GetWorkgroup':
        return { workgroup: this.workgroupOut(region, existing(state.workgroups, 'Workgroup', input)) };
      case 'ListWorkgroups':
        return { workgroups: Object.values(state.workgroups).map((w) => this.workgroupOut(region, w)) };
      case 'DeleteWorkgroup': {
        const workgroup = existing(state.workgroups, 'Workgroup', input);
        delete state.workgroups[workgroup.workgroupName];
        this.save();
        return { workgroup: { ...this.workgroupOut(region, workgroup), status: 'DELETING' } };
      }
      default:
        throw new AwsError('ValidationException', `the local gateway does not serve RedshiftServerless.${operation}`);
    }
  }

  private namespaceOut(region: string, n: Namespace) {
    return {
      ...n,
      namespaceArn: `arn:aws:redshift-serverless:${region}:${ACCOUNT}:namespace/${n.namespaceId}`,
      status: 'AVAILABLE',
    };
  }

  private workgroupOut(region: string, w: Workgroup) {
    return {
      ...w,
      workgroupArn: `arn:aws:redshift-serverless:${region}:${ACCOUNT}:workgroup/${w.workgroupId}`,
      status: 'AVAILABLE',
      port: 5439,
      endpoint: { address: `${w.workgroupName}.${ACCOUNT}.${region}.redshift-serverless.amazonaws.com`, port: 5439 },
    };
  }

  /** Whether a Data API statement's target exists in its region: a workgroup of ours, or a cluster in moto. */
  async exists(region: string, target: { clusterIdentifier?: string; workgroupName?: string }): Promise<boolean> {
    if (target.workgroupName !== undefined) {
      // The Data API takes a workgroup's name or its ARN.
      const byArn = /^arn:[\w-]+:redshift-serverless:[\w-]+:\d{12}:workgroup\/(.+)$/.exec(target.workgroupName);
      const workgroups = Object.values(this.state(region).workgroups);
      return workgroups.some((w) => (byArn ? w.workgroupId === byArn[1] : w.workgroupName === target.workgroupName));
    }
    const res = await fetch(this.options.motoUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        // moto reads the region from the credential scope; it does not check the signature.
        authorization: `AWS4-HMAC-SHA256 Credential=gateway/20260101/${region}/redshift/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: new URLSearchParams({
        Action: 'DescribeClusters',
        Version: '2012-12-01',
        ClusterIdentifier: target.clusterIdentifier ?? '',
      }),
    });
    const text = await res.text();
    if (res.ok) return true;
    if (text.includes('ClusterNotFound')) return false;
    throw new AwsError(
      'InternalServerException',
      `moto's DescribeClusters answered ${res.status}: ${text.slice(0, 300)}`,
      500,
    );
  }
}

/** The namespace or workgroup the input names (`namespaceName`, `workgroupName`), or ResourceNotFoundException. */
function existing<T>(items: Record<string, T>, kind: 'Namespace' | 'Workgroup', input: Record<string, unknown>): T {
  const name = serverlessName(input, kind === 'Namespace' ? 'namespaceName' : 'workgroupName');
  const item = items[name];
  if (!item) throw new AwsError('ResourceNotFoundException', `${kind} ${name} not found.`);
  return item;
}

/** The namespace or workgroup name the input gives, refused as the Serverless API refuses a missing or bad one. */
function serverlessName(input: Record<string, unknown>, field: 'namespaceName' | 'workgroupName'): string {
  const value = str(input[field]);
  if (!value) throw new AwsError('ValidationException', `${field} is required.`);
  return checkMember(field, value, SERVERLESS_NAME);
}
