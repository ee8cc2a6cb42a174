/** The Glue job definition: created from the spec, or updated field by field, keeping what was set by hand. */
import {
  CreateJobCommand,
  GetJobCommand,
  UpdateJobCommand,
  type GlueClient,
  type Job,
  type JobUpdate,
  type WorkerType,
} from '@aws-sdk/client-glue';
import { primaryRegion, s3Uri } from '../workflow-safe/layout';
import type { PipelineSpec } from '../workflow-safe/spec';
import { differences, read, requireRole, roleName, update, type Change, type FieldChange } from './change';
import { JOB_MODULES, JOB_SCRIPT, SCRIPTS_PREFIX } from './job-script';
import { transformModuleKey, transformModuleName } from '../workflow-safe/user-transform';

/** Job runs of one pipeline that may run at once (one per batch). */
export const MAX_CONCURRENT_RUNS = 4;

/** The job's capacity settings, from the spec or the flags that override it. */
export interface JobSettings {
  glueVersion: string;
  workerType: WorkerType;
  numberOfWorkers: number;
}

/** The job definition the spec asks for (what CreateJob is given). */
export function wantedJob(spec: PipelineSpec, settings: JobSettings & { roleArn: string }) {
  const primary = primaryRegion(spec);
  const scripts = s3Uri(primary.curatedBucket, SCRIPTS_PREFIX);
  const defaults: Record<string, string> = {
    ...spec.transform.arguments,
    '--job-language': 'python',
    '--extra-py-files': `${scripts}${JOB_MODULES}`,
    '--TempDir': s3Uri(primary.curatedBucket, '_glueline/tmp/'),
    '--delimiter': spec.transform.csv.delimiter,
    '--quote': spec.transform.csv.quote,
  };
  if (spec.transform.columns) defaults['--columns_json'] = JSON.stringify(spec.transform.columns);
  if (spec.transform.partitionBy) defaults['--partition_by'] = spec.transform.partitionBy;
  const { module } = spec.transform;
  if (module) {
    // Glue puts every --extra-py-files file on the Python path: the job imports the module by its name.
    const key = transformModuleKey(SCRIPTS_PREFIX, spec.transform.jobName, module);
    defaults['--extra-py-files'] += `,${s3Uri(primary.curatedBucket, key)}`;
    defaults['--transform_module'] = transformModuleName(module);
    defaults['--transform_function'] = spec.transform.function;
  }
  if (spec.transform.addedColumns) defaults['--added_columns_json'] = JSON.stringify(spec.transform.addedColumns);
  return {
    // The text existing jobs carry: changing it would plan an update of every job already provisioned.
    Description: `glueline pipeline ${spec.name}: batch CSV to Parquet (managed by npm run provision)`,
    Role: settings.roleArn,
    Command: { Name: 'glueetl', ScriptLocation: scriptLocation(spec, scripts), PythonVersion: '3' },
    DefaultArguments: defaults,
    GlueVersion: settings.glueVersion,
    WorkerType: settings.workerType,
    NumberOfWorkers: settings.numberOfWorkers,
    Timeout: spec.transform.timeoutMinutes,
    // The pipeline retries, and it must know of every run: Glue's own retries would start runs it never sees.
    MaxRetries: 0,
    ExecutionProperty: { MaxConcurrentRuns: MAX_CONCURRENT_RUNS },
  };
}

/** glueline's job script, or the spec's own (`transform.script`), where provision uploads it. */
function scriptLocation(spec: PipelineSpec, scripts: string): string {
  const { script, jobName } = spec.transform;
  if (!script) return `${scripts}${JOB_SCRIPT}`;
  return `${scripts}${transformModuleKey('', jobName, script)}`;
}

/** Default arguments glueline sets only when the spec has them: one the spec no longer has is removed. */
const OPTIONAL_ARGUMENTS = [
  '--columns_json',
  '--partition_by',
  '--transform_module',
  '--transform_function',
  '--added_columns_json',
];

/**
 * Which fields of an existing job differ from the wanted one. Extra DefaultArguments set by hand are left
 * alone; fields Glue fills in when they are not set count as their default.
 */
export function jobDrift(actual: Job, wanted: ReturnType<typeof wantedJob>): FieldChange[] {
  const argumentNames = [
    ...Object.keys(wanted.DefaultArguments),
    ...OPTIONAL_ARGUMENTS.filter((name) => !(name in wanted.DefaultArguments)),
  ];
  return differences([
    ['Role', roleName(actual.Role), roleName(wanted.Role)],
    ['Description', actual.Description, wanted.Description],
    ['Command.Name', actual.Command?.Name, wanted.Command.Name],
    ['Command.ScriptLocation', actual.Command?.ScriptLocation, wanted.Command.ScriptLocation],
    ['Command.PythonVersion', actual.Command?.PythonVersion ?? '3', wanted.Command.PythonVersion],
    ...argumentNames.map((name): [string, unknown, unknown] => [
      `DefaultArguments ${name}`,
      actual.DefaultArguments?.[name],
      wanted.DefaultArguments[name],
    ]),
    ['GlueVersion', actual.GlueVersion, wanted.GlueVersion],
    ['WorkerType', actual.WorkerType, wanted.WorkerType],
    ['NumberOfWorkers', actual.NumberOfWorkers, wanted.NumberOfWorkers],
    ['Timeout', actual.Timeout, wanted.Timeout],
    ['MaxRetries', actual.MaxRetries ?? 0, wanted.MaxRetries],
    [
      'ExecutionProperty.MaxConcurrentRuns',
      actual.ExecutionProperty?.MaxConcurrentRuns ?? 1,
      wanted.ExecutionProperty.MaxConcurrentRuns,
    ],
  ]);
}

/** Settings of a job that glueline does not manage, kept when it updates the job (set by hand, or by AWS). */
const KEPT_JOB_FIELDS = [
  'LogUri',
  'Connections',
  'NonOverridableArguments',
  'SecurityConfiguration',
  'NotificationProperty',
  'ExecutionClass',
  'MaintenanceWindow',
  'JobRunQueuingEnabled',
] as const satisfies readonly (keyof Job & keyof JobUpdate)[];

/**
 * UpdateJob's input: it replaces the whole definition, so the fields glueline does not manage and the
 * DefaultArguments added by hand are carried over; an optional argument the spec dropped is not.
 */
export function jobUpdate(actual: Job, wanted: ReturnType<typeof wantedJob>): JobUpdate {
  const kept = Object.fromEntries(KEPT_JOB_FIELDS.filter((f) => actual[f] != null).map((f) => [f, actual[f]]));
  const handSet = Object.entries(actual.DefaultArguments ?? {}).filter(([name]) => !OPTIONAL_ARGUMENTS.includes(name));
  return { ...kept, ...wanted, DefaultArguments: { ...Object.fromEntries(handSet), ...wanted.DefaultArguments } };
}

/** A create of the job in the primary region, an update of the fields that drifted, or nothing. */
export async function planJob(
  glue: GlueClient,
  spec: PipelineSpec,
  settings: JobSettings,
  roleArn: string | undefined,
): Promise<Change[]> {
  const jobName = spec.transform.jobName;
  const resource = `Glue job ${jobName} (${primaryRegion(spec).region})`;
  const found = await read(resource, 'glue:GetJob', () => glue.send(new GetJobCommand({ JobName: jobName })), [
    'EntityNotFoundException',
  ]);
  if (!found?.Job) {
    const wanted = wantedJob(spec, { ...settings, roleArn: requireRole(roleArn, resource) });
    return [
      {
        action: 'create',
        resource,
        detail: `Glue ${wanted.GlueVersion} glueetl, ${wanted.NumberOfWorkers} x ${wanted.WorkerType}, script ${wanted.Command.ScriptLocation}`,
        permission: `glue:CreateJob, and iam:PassRole on ${wanted.Role}`,
        apply: async () => {
          await glue.send(new CreateJobCommand({ Name: jobName, ...wanted }));
        },
      },
    ];
  }
  const wanted = wantedJob(spec, { ...settings, roleArn: roleArn ?? found.Job.Role ?? '' });
  const JobUpdate = jobUpdate(found.Job, wanted);
  return update(
    resource,
    jobDrift(found.Job, wanted),
    `glue:UpdateJob, and iam:PassRole on ${wanted.Role}`,
    async () => {
      await glue.send(new UpdateJobCommand({ JobName: jobName, JobUpdate }));
    },
  );
}
