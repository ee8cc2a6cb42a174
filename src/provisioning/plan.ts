/**
 * The plan, its application and its description: {@link planProvisioning} asks each resource kind what it
 * needs (reads only), {@link applyChanges} makes the changes in order, {@link describePlan} shows them.
 */
import path from 'node:path';
import type { GlueClient } from '@aws-sdk/client-glue';
import type { S3Client } from '@aws-sdk/client-s3';
import { primaryRegion } from '../workflow-safe/layout';
import type { PipelineSpec } from '../workflow-safe/spec';
import { packageRoot } from '../package-root';
import { bucketsOf, planBucket } from './buckets';
import { errorName, isAccessDenied } from '../aws/errors';
import { ProvisionError, type Change } from './change';
import { crawlersOf, planCrawler } from './crawlers';
import { databasesOf, planDatabase } from './databases';
import { planJob } from './job';
import { planJobScript, SCRIPTS_PREFIX } from './job-script';
import { transformModuleKey } from '../workflow-safe/user-transform';

/** The clients provisioning sends its calls with, per region (an AwsClients fits). */
export interface ProvisionClients {
  s3: (region: string) => S3Client;
  glue: (region: string) => GlueClient;
}

export interface ProvisionOptions {
  /** Overrides spec.provision.roleArn. @default - spec.provision.roleArn */
  roleArn?: string;
  /** Overrides spec.provision.glueVersion. @default - spec.provision.glueVersion */
  glueVersion?: '4.0' | '5.0';
  /** Overrides spec.provision.workerType. @default - spec.provision.workerType */
  workerType?: PipelineSpec['provision']['workerType'];
  /** Overrides spec.provision.numberOfWorkers. @default - spec.provision.numberOfWorkers */
  numberOfWorkers?: number;
  /** The folder holding glueline_job.py and glueline_transform/. @default - `<repo>/glue` */
  glueDir?: string;
  /** The spec file's folder: spec.transform.module is relative to it. @default - the current directory */
  specDir?: string;
}

/** Reads what exists and returns the changes that make it match the spec. Changes nothing. */
export async function planProvisioning(
  spec: PipelineSpec,
  clients: ProvisionClients,
  options: ProvisionOptions = {},
): Promise<Change[]> {
  const roleArn = options.roleArn ?? spec.provision.roleArn;
  const primary = primaryRegion(spec);
  const changes: Change[] = [];
  for (const { bucket, region } of bucketsOf(spec)) {
    changes.push(...(await planBucket(clients.s3(region), bucket, region, spec.provision.bucketVersioning)));
  }
  for (const { name, region } of databasesOf(spec)) {
    changes.push(...(await planDatabase(clients.glue(region), name, region)));
  }
  for (const crawler of crawlersOf(spec)) {
    changes.push(...(await planCrawler(clients.glue(crawler.region), crawler, roleArn)));
  }
  // A bucket this plan creates has no objects to read yet.
  const curatedPlanned = changes.some(
    (c) => c.action === 'create' && c.resource.startsWith(`S3 bucket ${primary.curatedBucket} `),
  );
  const glueDir = options.glueDir ?? path.join(packageRoot, 'glue');
  const { module, script, jobName } = spec.transform;
  const userFiles = (['module', 'script'] as const).flatMap((field) => {
    const file = field === 'module' ? module : script;
    if (!file) return [];
    return [
      {
        field,
        file: path.resolve(options.specDir ?? '.', file),
        key: transformModuleKey(SCRIPTS_PREFIX, jobName, file),
      },
    ];
  });
  changes.push(
    ...(await planJobScript(clients.s3(primary.region), primary.curatedBucket, glueDir, curatedPlanned, userFiles)),
  );
  const settings = {
    glueVersion: options.glueVersion ?? spec.provision.glueVersion,
    workerType: options.workerType ?? spec.provision.workerType,
    numberOfWorkers: options.numberOfWorkers ?? spec.provision.numberOfWorkers,
  };
  changes.push(...(await planJob(clients.glue(primary.region), spec, settings, roleArn)));
  return changes;
}

/** Makes the changes in plan order (buckets before the objects in them, databases before crawlers). */
export async function applyChanges(changes: Change[], log: (line: string) => void = () => {}): Promise<void> {
  for (const change of changes) {
    try {
      await change.apply();
    } catch (err) {
      const cause = isAccessDenied(err)
        ? `access denied (${errorName(err) || 'HTTP 403'}: ${(err as Error).message}). The credentials in use need ${change.permission}`
        : `${errorName(err)}: ${(err as Error).message}`;
      throw new ProvisionError(
        `could not ${change.action} ${change.resource}: ${cause}. ` +
          'The changes before it were made; fix the cause and run provision again (it picks up where it stopped).',
        { cause: err },
      );
    }
    log(`  ${change.action === 'create' ? 'created' : 'updated'} ${change.resource}`);
  }
}

const shown = (value: unknown, absent: string) => (value === undefined ? `(${absent})` : JSON.stringify(value));

/** The plan as lines a person reads: a line per create, and per update a line for each field, old → new. */
export function describePlan(changes: Change[]): string[] {
  return changes.flatMap((c) =>
    c.action === 'create'
      ? [`  + create ${c.resource}: ${c.detail}`]
      : [
          `  ~ update ${c.resource}:`,
          ...(c.fields ?? []).map((f) => `      ${f.field}: ${shown(f.from, 'not set')} → ${shown(f.to, 'removed')}`),
        ],
  );
}
