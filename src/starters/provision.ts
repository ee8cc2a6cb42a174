/**
 * `npm run provision -- --spec <file> [--yes] [--endpoint URL | --stack-dir DIR | --aws] [--role ARN] ...`
 *
 * Creates or updates what a pipeline spec needs: buckets, Glue databases, crawlers, the job script and
 * the job definition, in every region. Reads first and prints the plan; a second run plans nothing.
 * Against the local stack it applies the plan at once; against AWS only with --yes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { ProvisionError, applyChanges, describePlan, planProvisioning, type ProvisionClients } from '../provisioning';
import { PipelineSpec, parseOrExplain } from '../workflow-safe/spec';
import { loadSpecFile } from './spec-file';
import { DEFAULT_STACK_DIR, readEndpoints } from './stack-endpoints';

const usage = `usage: npm run provision -- --spec <file.yaml|file.json> [options]

Creates or updates, idempotently, what the spec needs in every region: S3 buckets (SSE-S3 default
encryption, public access blocked, versioning when spec.provision.bucketVersioning), the Glue databases,
the raw and curated crawlers, the job script in S3 and the Glue job. Prints the plan first: each
resource to create, and each field of an existing one to update, old -> new.

where:
  (default)            the local stack of .devstack/endpoints.json when it exists, else AWS
  --endpoint URL       one AWS endpoint for every service (a local stack's gateway)
  --stack-dir DIR      the local stack whose endpoints.json is in DIR
  --aws                AWS itself, with the SDK's credential chain

options:
  --yes                apply the plan against AWS (the local stack needs no --yes)
  --role ARN           the IAM role of the job and crawlers (default: spec.provision.roleArn)
  --glue-version V     4.0 or 5.0 (default: spec.provision.glueVersion)
  --worker-type T      G.025X, G.1X, G.2X, G.4X or G.8X (default: spec.provision.workerType)
  --workers N          number of workers (default: spec.provision.numberOfWorkers)
`;

/** Where provisioning runs: a local endpoint (dummy credentials) or AWS. */
export interface ProvisionTarget {
  endpoint?: string;
  description: string;
}

/** AWS clients for the target, per region. */
export function clientsFor(target: ProvisionTarget): ProvisionClients {
  const common = (region: string) => ({
    region,
    ...(target.endpoint
      ? { endpoint: target.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }
      : {}),
  });
  const s3 = new Map<string, S3Client>();
  const glue = new Map<string, GlueClient>();
  return {
    s3: (region) =>
      s3.get(region) ??
      s3.set(region, new S3Client({ ...common(region), forcePathStyle: !!target.endpoint })).get(region)!,
    glue: (region) => glue.get(region) ?? glue.set(region, new GlueClient(common(region))).get(region)!,
  };
}

export interface ProvisionRun {
  spec: PipelineSpec;
  target: ProvisionTarget;
  /** Apply the plan against AWS. The local stack needs no confirmation. */
  yes: boolean;
  roleArn?: string;
  glueVersion?: PipelineSpec['provision']['glueVersion'];
  workerType?: PipelineSpec['provision']['workerType'];
  numberOfWorkers?: number;
  log?: (line: string) => void;
  /** @default - clients for the target ({@link clientsFor}) */
  clients?: ProvisionClients;
}

/** What a provision run did. */
export interface ProvisionOutcome {
  planned: number;
  applied: boolean;
}

/** Plans, prints the plan, and applies it when the target allows. */
export async function provision(run: ProvisionRun): Promise<ProvisionOutcome> {
  const log = run.log ?? ((line: string) => console.log(line));
  const local = run.target.endpoint !== undefined;
  log(`provision: spec ${run.spec.name}, ${run.target.description}`);
  const changes = await planProvisioning(run.spec, run.clients ?? clientsFor(run.target), {
    roleArn: run.roleArn,
    glueVersion: run.glueVersion,
    workerType: run.workerType,
    numberOfWorkers: run.numberOfWorkers,
  });
  if (changes.length === 0) {
    log('provision: no changes: everything the spec needs is already in place.');
    return { planned: 0, applied: false };
  }
  log(`provision: plan (${changes.length} change${changes.length === 1 ? '' : 's'}):`);
  for (const line of describePlan(changes)) log(line);
  if (!local && !run.yes) {
    log('provision: nothing was changed. Run again with --yes to apply this plan to AWS.');
    return { planned: changes.length, applied: false };
  }
  await applyChanges(changes, log);
  log(`provision: done, ${changes.length} change${changes.length === 1 ? '' : 's'} applied.`);
  return { planned: changes.length, applied: true };
}

function targetFrom(values: { endpoint?: string; 'stack-dir'?: string; aws?: boolean }): ProvisionTarget {
  const chosen = [values.endpoint !== undefined, values['stack-dir'] !== undefined, values.aws === true].filter(
    Boolean,
  );
  if (chosen.length > 1) throw new ProvisionError('use only one of --endpoint, --stack-dir and --aws');
  if (values.endpoint) return { endpoint: values.endpoint, description: `endpoint ${values.endpoint}` };
  if (values.aws) return { description: 'AWS (credential chain)' };
  const dir = path.resolve(values['stack-dir'] ?? DEFAULT_STACK_DIR);
  if (values['stack-dir'] !== undefined || fs.existsSync(path.join(dir, 'endpoints.json'))) {
    const endpoint = readEndpoints(dir).aws.endpoint;
    return { endpoint, description: `local stack at ${endpoint} (${dir})` };
  }
  return { description: 'AWS (credential chain; no local stack is running)' };
}

async function main() {
  const { values } = parseArgs({
    options: {
      spec: { type: 'string' },
      yes: { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      'stack-dir': { type: 'string' },
      aws: { type: 'boolean', default: false },
      role: { type: 'string' },
      'glue-version': { type: 'string' },
      'worker-type': { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.spec) {
    console.log(usage);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const spec = loadSpecFile(values.spec);
  // The flags go through the spec's own schema, so a bad flag reads like a bad spec field.
  const overrides = parseOrExplain(
    PipelineSpec.shape.provision,
    {
      ...spec.provision,
      ...(values.role !== undefined ? { roleArn: values.role } : {}),
      ...(values['glue-version'] !== undefined ? { glueVersion: values['glue-version'] } : {}),
      ...(values['worker-type'] !== undefined ? { workerType: values['worker-type'] } : {}),
      ...(values.workers !== undefined ? { numberOfWorkers: Number(values.workers) } : {}),
    },
    'spec.provision (with the flags)',
  );
  await provision({
    spec,
    target: targetFrom(values),
    yes: values.yes,
    roleArn: overrides.roleArn,
    glueVersion: overrides.glueVersion,
    workerType: overrides.workerType,
    numberOfWorkers: overrides.numberOfWorkers,
  });
}

if (require.main === module) {
  main().catch((err: Error) => {
    // The messages say what to fix; the stack only helps when debugging glueline itself.
    console.error(`provision: ${process.env.GLUELINE_DEBUG ? (err.stack ?? err.message) : err.message}`);
    process.exitCode = 1;
  });
}
