/**
 * `glueline provision` (alias `npm run provision`): creates or updates what a pipeline spec
 * needs (buckets, Glue databases, crawlers, the job script and the job definition) in every region. Reads
 * first and prints the plan; a second run plans nothing. Against the local stack it applies the plan at
 * once; against AWS only with --yes. Then it sets up the spec's freshness watch in Temporal, when reachable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createAwsClients } from '../aws/clients';
import { iamPolicies } from '../provisioning/iam';
import { applyChanges, describePlan, planProvisioning, type ProvisionClients } from '../provisioning';
import { describeRule } from '../workflow-safe/freshness';
import { PipelineSpec } from '../workflow-safe/spec';
import { parseOrExplain } from '../workflow-safe/validation';
import { connectClient, TemporalConnectError, type ConnectedClient } from '../temporal/connection';
import { asUsageError, parseCommandArgs, UsageError, type CommandIo } from './common';
import { setUpFreshnessWatch } from './freshness-setup';
import { loadSpec } from './spec-arg';
import { DEFAULT_STACK_DIR, readEndpoints } from './stack-endpoints';

export const provisionUsage = `usage: glueline provision --spec <file> [--endpoint URL | --stack-dir DIR | --aws] [options]
       (npm run provision -- ... is the same command)

Creates or updates, idempotently, what the spec needs in every region: S3 buckets (SSE-S3 default
encryption, public access blocked, versioning when spec.provision.bucketVersioning), the Glue databases,
the raw and curated crawlers, the job script (and spec.transform.module, relative to the spec file) in S3
and the Glue job. Prints the plan first: each
resource to create, and each field of an existing one to update, old -> new. Exit 2 on a bad spec or
flag (nothing read or changed), 1 when AWS refuses or a change fails (the message says which and why).
Then the freshness watch, a Temporal workflow (TEMPORAL_ADDRESS, as every command): when it applies, provision
starts or updates the watch of a spec with a freshness section (and stops one whose section is gone), and
says so. With Temporal out of reach it says why and names glueline freshness --spec <file>; AWS stays done.

where (at most one):
  (default)            GLUELINE_AWS_ENDPOINT when set (as every command reads it: glueline devstack env prints
                       it for a stack), else the local stack of .devstack/endpoints.json when it exists, else AWS
  --endpoint URL       one AWS endpoint for every service (a local stack's gateway)
  --stack-dir DIR      the local stack whose endpoints.json is in DIR
  --aws                AWS itself, with the SDK's credential chain

options:
  --spec FILE          the pipeline spec, JSON or YAML (required)
  --yes                apply the plan against AWS (the local stack needs no --yes)
  --role ARN           the IAM role of the job and crawlers (default: spec.provision.roleArn)
  --glue-version V     4.0 or 5.0 (default: spec.provision.glueVersion)
  --worker-type T      G.025X, G.1X, G.2X, G.4X or G.8X (default: spec.provision.workerType)
  --workers N          number of workers (default: spec.provision.numberOfWorkers)

IAM (prints, reads and changes nothing):
  --print-iam          print the least-privilege IAM policy of every principal as JSON: the worker, the
                       operator's CLI (run --files, rejects, query), the provisioning identity, the Glue job
                       and crawler roles, the Redshift COPY role, the S3 event consumer and Lambda; "notes"
                       say what the spec left open and how to narrow it (docs/operations-on-aws.md#iam)
  --account ID         the AWS account in the ARNs (default: that of spec.provision.roleArn, else *)
  --landing-bucket B   a bucket batches are read from (run --source-bucket), besides the raw buckets; repeatable
  --queue-arn ARN      the SQS queue S3 notifies (default: any queue of the primary region)
`;

const options = {
  spec: { type: 'string' },
  yes: { type: 'boolean', default: false },
  endpoint: { type: 'string' },
  'stack-dir': { type: 'string' },
  aws: { type: 'boolean', default: false },
  role: { type: 'string' },
  'glue-version': { type: 'string' },
  'worker-type': { type: 'string' },
  workers: { type: 'string' },
  'print-iam': { type: 'boolean', default: false },
  account: { type: 'string' },
  'landing-bucket': { type: 'string', multiple: true },
  'queue-arn': { type: 'string' },
} as const;

/** Where provisioning runs: a local endpoint (dummy credentials) or AWS. */
export interface ProvisionTarget {
  endpoint?: string;
  description: string;
}

/** AWS clients for the target: a local endpoint takes any credentials, so it gets dummy ones. */
export function clientsFor(target: ProvisionTarget): ProvisionClients {
  return createAwsClients(
    target.endpoint
      ? { endpoint: target.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }
      : {},
  );
}

export interface ProvisionRun {
  spec: PipelineSpec;
  target: ProvisionTarget;
  /** Apply the plan against AWS. The local stack needs no confirmation. */
  yes: boolean;
  /** @default - spec.provision.roleArn */
  roleArn?: string;
  /** @default - spec.provision.glueVersion */
  glueVersion?: PipelineSpec['provision']['glueVersion'];
  /** @default - spec.provision.workerType */
  workerType?: PipelineSpec['provision']['workerType'];
  /** @default - spec.provision.numberOfWorkers */
  numberOfWorkers?: number;
  /** The spec file's folder, which spec.transform.module is relative to. @default - the current directory */
  specDir?: string;
  /** @default - console.log */
  log?: (line: string) => void;
  /** @default - clients for the target ({@link clientsFor}) */
  clients?: ProvisionClients;
}

/** What a provision run did. */
export interface ProvisionOutcome {
  planned: number;
  applied: boolean;
}

const changesText = (n: number) => `${n} change${n === 1 ? '' : 's'}`;

/** Plans, prints the plan, and applies it when the target allows (AWS only: the CLI command also sets up the watch). */
export async function provision(run: ProvisionRun): Promise<ProvisionOutcome> {
  return provisionAws(run, run.log ?? ((line: string) => console.log(line)));
}

/**
 * After AWS, the spec's freshness watch, which runs in Temporal: when provision applies (the local stack, or
 * `--yes`) and Temporal is reachable (the environment's TEMPORAL_ADDRESS, as every command), starts, updates or
 * stops it and says so. Temporal out of reach fails nothing: AWS is provisioned, and the line says why the watch
 * was not set up and which command sets it up later. A spec without the section only stops a watch left running.
 */
export async function provisionWatch(
  spec: PipelineSpec,
  specFile: string,
  applying: boolean,
  log: (line: string) => void,
): Promise<void> {
  const later = `\`glueline freshness --spec ${specFile}\``;
  const rule = spec.freshness ? `a batch ${describeRule(spec.freshness)}` : '';
  if (!applying) {
    if (spec.freshness)
      log(`provision: the freshness watch (${rule}) was not set up either: run again with --yes, or run ${later}.`);
    return;
  }
  let connected: ConnectedClient;
  try {
    connected = await connectClient();
  } catch (err) {
    if (!(err instanceof TemporalConnectError)) throw err;
    if (spec.freshness)
      log(`provision: the freshness watch (${rule}) was not set up: ${err.message}. Then run ${later}.`);
    return;
  }
  try {
    const { action, lines } = await setUpFreshnessWatch(connected.client, connected.namespace, spec);
    if (action !== 'none') for (const line of lines) log(`provision: ${line.trimStart()}`);
  } finally {
    await connected.connection.close();
  }
}

async function provisionAws(run: ProvisionRun, log: (line: string) => void): Promise<ProvisionOutcome> {
  const local = run.target.endpoint !== undefined;
  log(`provision: spec ${run.spec.name}, ${run.target.description}`);
  const changes = await planProvisioning(run.spec, run.clients ?? clientsFor(run.target), {
    roleArn: run.roleArn,
    glueVersion: run.glueVersion,
    workerType: run.workerType,
    numberOfWorkers: run.numberOfWorkers,
    specDir: run.specDir,
  });
  if (changes.length === 0) {
    log('provision: no changes: everything the spec needs is already in place.');
    return { planned: 0, applied: false };
  }
  log(`provision: plan (${changesText(changes.length)}):`);
  for (const line of describePlan(changes)) log(line);
  if (!local && !run.yes) {
    log('provision: nothing was changed. Run again with --yes to apply this plan to AWS.');
    return { planned: changes.length, applied: false };
  }
  await applyChanges(changes, log);
  log(`provision: done, ${changesText(changes.length)} applied.`);
  return { planned: changes.length, applied: true };
}

/**
 * The target the flags name (more than one is a usage error); without one, GLUELINE_AWS_ENDPOINT as every other
 * command reads it, then the default local stack, then AWS.
 */
export function targetFrom(
  values: { endpoint?: string; 'stack-dir'?: string; aws?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): ProvisionTarget {
  const chosen = (['endpoint', 'stack-dir', 'aws'] as const).filter(
    (f) => values[f] !== undefined && values[f] !== false,
  );
  if (chosen.length > 1)
    throw new UsageError(
      `use only one of --endpoint, --stack-dir and --aws (got ${chosen.map((f) => `--${f}`).join(', ')})`,
    );
  if (values.endpoint) return { endpoint: values.endpoint, description: `endpoint ${values.endpoint}` };
  if (values.aws) return { description: 'AWS (credential chain)' };
  const fromEnv = env.GLUELINE_AWS_ENDPOINT;
  if (fromEnv && values['stack-dir'] === undefined)
    return { endpoint: fromEnv, description: `endpoint ${fromEnv} (GLUELINE_AWS_ENDPOINT)` };
  const dir = path.resolve(values['stack-dir'] ?? DEFAULT_STACK_DIR);
  if (values['stack-dir'] !== undefined || fs.existsSync(path.join(dir, 'endpoints.json'))) {
    let endpoint: string;
    try {
      endpoint = readEndpoints(dir).aws.endpoint;
    } catch (err) {
      throw new UsageError(`--stack-dir: ${(err as Error).message}`);
    }
    return { endpoint, description: `local stack at ${endpoint} (${dir})` };
  }
  return { description: 'AWS (credential chain; no local stack is running)' };
}

/** The `provision` command. @returns the exit code. */
export async function provisionCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('provision', args, options);
  if (values.help) {
    io.out(provisionUsage);
    return 0;
  }
  if (positionals.length)
    throw new UsageError(`unexpected argument(s) ${positionals.join(' ')}: name the spec with --spec`);
  const spec = loadSpec(values.spec);
  if (values['print-iam']) {
    io.out(printableIam(spec, values));
    return 0;
  }
  const target = targetFrom(values);
  let overrides: PipelineSpec['provision'];
  try {
    // The flags go through the spec's own schema, so a bad flag reads like a bad spec field.
    overrides = parseOrExplain(
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
  } catch (err) {
    asUsageError(err);
  }
  await provision({
    spec,
    target,
    yes: values.yes,
    roleArn: overrides.roleArn,
    glueVersion: overrides.glueVersion,
    workerType: overrides.workerType,
    numberOfWorkers: overrides.numberOfWorkers,
    specDir: path.dirname(path.resolve(values.spec!)),
    log: io.out,
  });
  await provisionWatch(spec, values.spec!, target.endpoint !== undefined || values.yes, io.out);
  return 0;
}

/** `--print-iam`'s JSON: each principal's description, trust policy (service roles) and policy. */
export function printableIam(
  spec: PipelineSpec,
  values: { account?: string; 'landing-bucket'?: string[]; 'queue-arn'?: string },
): string {
  if (values.account !== undefined && !/^\d{12}$/.test(values.account)) {
    throw new UsageError(`--account ${values.account} is not an AWS account id: give its 12 digits`);
  }
  const principals = iamPolicies(spec, {
    account: values.account,
    landingBuckets: values['landing-bucket'],
    queueArn: values['queue-arn'],
  });
  const printable = Object.fromEntries(
    Object.entries(principals).map(([name, p]) => [
      name,
      {
        description: p.description,
        ...(p.trustedServices
          ? {
              trustPolicy: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Principal: { Service: p.trustedServices }, Action: 'sts:AssumeRole' }],
              },
            }
          : {}),
        policy: p.policy,
        ...(p.notes ? { notes: p.notes } : {}),
      },
    ]),
  );
  return JSON.stringify(printable, null, 2);
}
