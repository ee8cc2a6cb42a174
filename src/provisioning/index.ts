/**
 * Provisioning: what a pipeline spec needs in AWS, created or brought up to date idempotently.
 *
 * {@link planProvisioning} only reads (so missing permissions and conflicts surface before anything is
 * touched) and returns the changes as a plan; {@link applyChanges} makes them, in order. A second run
 * against the same spec plans nothing.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  CreateCrawlerCommand,
  CreateDatabaseCommand,
  CreateJobCommand,
  GetCrawlerCommand,
  GetDatabaseCommand,
  GetJobCommand,
  UpdateCrawlerCommand,
  UpdateJobCommand,
  type Crawler,
  type GlueClient,
  type Job,
  type JobUpdate,
  type WorkerType,
} from '@aws-sdk/client-glue';
import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import { errorName, httpStatusOf as httpStatus, isAccessDenied, isNotFound } from '../aws/errors';
import { primaryRegion, s3Uri } from '../workflow-safe/layout';
import type { PipelineSpec } from '../workflow-safe/spec';

/** Where the job script and its Python package go, in the primary region's curated bucket. */
export const SCRIPTS_PREFIX = '_glueline/scripts/';
export const JOB_SCRIPT = 'glueline_job.py';
export const JOB_MODULES = 'glueline_transform.zip';
/** Job runs of one pipeline that may run at once (one per batch). */
export const MAX_CONCURRENT_RUNS = 4;

export interface ProvisionClients {
  s3: (region: string) => S3Client;
  glue: (region: string) => GlueClient;
}

export interface ProvisionOptions {
  /** Overrides spec.provision.roleArn. @default - spec.provision.roleArn */
  roleArn?: string;
  /** Overrides spec.provision.glueVersion. */
  glueVersion?: '4.0' | '5.0';
  /** Overrides spec.provision.workerType. */
  workerType?: PipelineSpec['provision']['workerType'];
  /** Overrides spec.provision.numberOfWorkers. */
  numberOfWorkers?: number;
  /** The folder holding glueline_job.py and glueline_transform/. @default - `<repo>/glue` */
  glueDir?: string;
}

/** One setting of an existing resource that differs from the spec: what AWS has, what the spec wants. */
export interface FieldChange {
  /** AWS's name for it: `NumberOfWorkers`, `DefaultArguments --delimiter`, `versioning`. */
  field: string;
  /** @default - not set */
  from?: unknown;
  /** @default - removed */
  to?: unknown;
}

/** One step of the plan. */
export interface Change {
  action: 'create' | 'update';
  /** What it is and where, as a person reads it: `S3 bucket raw-a (us-east-1)`. */
  resource: string;
  /** What changes: `default encryption SSE-S3`, `Role, GlueVersion`. */
  detail: string;
  /** An update's settings, old and new. @default - none (a create) */
  fields?: FieldChange[];
  /** What the credentials need to make the change, named when AWS denies it. */
  permission: string;
  apply: () => Promise<void>;
}

/** An update of `resource` that sets `fields`; its detail names them. */
function update(resource: string, fields: FieldChange[], permission: string, apply: () => Promise<void>): Change[] {
  if (fields.length === 0) return [];
  return [{ action: 'update', resource, detail: fields.map((f) => f.field).join(', '), fields, permission, apply }];
}

/**
 * The fields whose actual value (first) differs from the wanted one (second). Values compare deeply,
 * object keys in any order.
 */
function differences(pairs: [field: string, from: unknown, to: unknown][]): FieldChange[] {
  return pairs.filter(([, from, to]) => !isDeepStrictEqual(from, to)).map(([field, from, to]) => ({ field, from, to }));
}

/**
 * A role as Glue reports it: GetCrawler gives a role set by ARN back as its name (with its path), so
 * both sides compare by name.
 */
const roleName = (role: string | undefined) => role?.replace(/^arn:aws[\w-]*:iam::\d{12}:role\//, '');

/** Thrown before anything is changed: a conflict, a missing permission or a missing setting. */
export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

/** A read of the plan: AccessDenied becomes a ProvisionError that names the permission; `missing` becomes undefined. */
async function read<T>(what: string, permission: string, call: () => Promise<T>, missing: string[] = []) {
  try {
    return await call();
  } catch (err) {
    if (isNotFound(err, ...missing)) return undefined;
    if (isAccessDenied(err)) {
      throw new ProvisionError(
        `cannot read ${what}: access denied (${errorName(err) || 'HTTP 403'}). The credentials in use need ${permission}. Nothing was changed.`,
        { cause: err },
      );
    }
    throw readFailure(what, err);
  }
}

function readFailure(what: string, err: unknown): ProvisionError {
  const hint =
    errorName(err) === 'CredentialsProviderError'
      ? ' Provide AWS credentials (AWS_PROFILE, environment variables or an instance role), or use --endpoint for a local stack.'
      : '';
  return new ProvisionError(
    `cannot read ${what}: ${errorName(err)}: ${(err as Error).message}.${hint} Nothing was changed.`,
    {
      cause: err,
    },
  );
}

/** The script and the zipped package, as they are uploaded. */
export function glueBundle(glueDir: string): { script: Buffer; modules: Buffer } {
  const pkg = path.join(glueDir, 'glueline_transform');
  const files = fs
    .readdirSync(pkg)
    .filter((n) => n.endsWith('.py'))
    .sort()
    .map((n) => ({ name: `glueline_transform/${n}`, data: fs.readFileSync(path.join(pkg, n)) }));
  return { script: fs.readFileSync(path.join(glueDir, JOB_SCRIPT)), modules: storedZip(files) };
}

/**
 * A zip archive with stored (uncompressed) entries and fixed timestamps: the same files make the same
 * bytes, so the uploaded object's ETag tells whether it changed. Glue's --extra-py-files takes it as is.
 */
export function storedZip(files: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    // The fields the local header (at 6) and the central directory entry (at 8) share, in the same order.
    const shared = (header: Buffer, at: number) => {
      header.writeUInt16LE(0x0800, at); // flags: names are UTF-8
      header.writeUInt16LE(0, at + 2); // method: stored
      header.writeUInt16LE(0, at + 4); // time 00:00
      header.writeUInt16LE((1 << 5) | 1, at + 6); // date 1980-01-01, zip's epoch
      header.writeUInt32LE(crc32(file.data), at + 8);
      header.writeUInt32LE(file.data.length, at + 12); // compressed size
      header.writeUInt32LE(file.data.length, at + 16); // size
      header.writeUInt16LE(name.length, at + 20);
      return header;
    };
    const local = shared(Buffer.alloc(30), 6);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    const central = shared(Buffer.alloc(46), 8);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, file.data);
    centrals.push(central, name);
    offset += local.length + name.length + file.data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The buckets the spec needs, with their regions: every curated bucket; raw in the primary (and every region when staged there). */
function bucketsOf(spec: PipelineSpec): { bucket: string; region: string; role: 'raw' | 'curated' }[] {
  const primary = primaryRegion(spec).region;
  return spec.regions.flatMap((r) => [
    ...(r.region === primary || spec.raw.stageToAllRegions
      ? [{ bucket: r.rawBucket, region: r.region, role: 'raw' as const }]
      : []),
    { bucket: r.curatedBucket, region: r.region, role: 'curated' as const },
  ]);
}

const ENCRYPTION = 'default encryption' as const;
const PUBLIC_ACCESS_BLOCK = 'public access block' as const;
const VERSIONING = 'versioning' as const;
/** The bucket settings provisioning makes, and the permission each needs. */
const BUCKET_SETTING_PERMISSION = {
  [ENCRYPTION]: 's3:PutEncryptionConfiguration',
  [PUBLIC_ACCESS_BLOCK]: 's3:PutBucketPublicAccessBlock',
  [VERSIONING]: 's3:PutBucketVersioning',
};
type BucketSetting = keyof typeof BUCKET_SETTING_PERMISSION;
const PUBLIC_ACCESS_FLAGS = [
  'BlockPublicAcls',
  'IgnorePublicAcls',
  'BlockPublicPolicy',
  'RestrictPublicBuckets',
] as const;
const settingPermissions = (bucket: string, settings: BucketSetting[]) =>
  `${settings.map((s) => BUCKET_SETTING_PERMISSION[s]).join(', ')} on ${bucket}`;

async function planBucket(s3: S3Client, bucket: string, region: string, versioning: boolean): Promise<Change[]> {
  const resource = `S3 bucket ${bucket} (${region})`;
  let exists = true;
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (httpStatus(err) === 404 || errorName(err) === 'NotFound' || errorName(err) === 'NoSuchBucket') exists = false;
    else if (httpStatus(err) === 301)
      throw new ProvisionError(
        `S3 bucket ${bucket} exists in another region than ${region} (S3 answered 301): rename it in the spec, or move the region. Nothing was changed.`,
        { cause: err },
      );
    else if (isAccessDenied(err))
      throw new ProvisionError(
        `${resource} exists but these credentials cannot use it: it may belong to another account (bucket names are global), ` +
          'or they lack s3:ListBucket. Rename the bucket in the spec or grant access. Nothing was changed.',
        { cause: err },
      );
    else throw readFailure(resource, err);
  }
  const settings: BucketSetting[] = [ENCRYPTION, PUBLIC_ACCESS_BLOCK, ...(versioning ? [VERSIONING] : [])];
  const configure = async (what: BucketSetting[]) => {
    if (what.includes(ENCRYPTION))
      await s3.send(
        new PutBucketEncryptionCommand({
          Bucket: bucket,
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
          },
        }),
      );
    if (what.includes(PUBLIC_ACCESS_BLOCK))
      await s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: bucket,
          PublicAccessBlockConfiguration: Object.fromEntries(PUBLIC_ACCESS_FLAGS.map((flag) => [flag, true])),
        }),
      );
    if (what.includes(VERSIONING))
      await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  };

  if (!exists) {
    return [
      {
        action: 'create',
        resource,
        detail: `default encryption SSE-S3, public access blocked${versioning ? ', versioning enabled' : ''}`,
        permission: `s3:CreateBucket, ${settingPermissions(bucket, settings)}`,
        apply: async () => {
          await s3.send(
            new CreateBucketCommand({
              Bucket: bucket,
              ...(region === 'us-east-1'
                ? {}
                : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
            }),
          );
          await configure(settings);
        },
      },
    ];
  }

  const location = await read(`the region of ${resource}`, `s3:GetBucketLocation on ${bucket}`, () =>
    s3.send(new GetBucketLocationCommand({ Bucket: bucket })),
  );
  const actual = location?.LocationConstraint || 'us-east-1';
  if (actual !== region) {
    throw new ProvisionError(
      `S3 bucket ${bucket} exists in ${actual}, but the spec puts it in ${region}: rename it in the spec, or move the region. Nothing was changed.`,
    );
  }
  const encryption = await read(
    `the default encryption of ${resource}`,
    `s3:GetEncryptionConfiguration on ${bucket}`,
    () => s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })),
    ['ServerSideEncryptionConfigurationNotFoundError'],
  );
  const block = await read(
    `the public access block of ${resource}`,
    `s3:GetBucketPublicAccessBlock on ${bucket}`,
    () => s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket })),
    ['NoSuchPublicAccessBlockConfiguration'],
  );
  const blocked = PUBLIC_ACCESS_FLAGS.filter((flag) => block?.PublicAccessBlockConfiguration?.[flag]);
  const fields: (FieldChange & { field: BucketSetting })[] = [];
  // Any default encryption will do (SSE-KMS is stronger): only a bucket with none gets SSE-S3.
  if (!encryption?.ServerSideEncryptionConfiguration?.Rules?.length) fields.push({ field: ENCRYPTION, to: 'SSE-S3' });
  if (blocked.length < PUBLIC_ACCESS_FLAGS.length) {
    fields.push({
      field: PUBLIC_ACCESS_BLOCK,
      from: blocked.join(' ') || undefined,
      to: PUBLIC_ACCESS_FLAGS.join(' '),
    });
  }
  if (versioning) {
    const state = await read(`the versioning of ${resource}`, `s3:GetBucketVersioning on ${bucket}`, () =>
      s3.send(new GetBucketVersioningCommand({ Bucket: bucket })),
    );
    if (state?.Status !== 'Enabled') fields.push({ field: VERSIONING, from: state?.Status, to: 'Enabled' });
  }
  const needs = fields.map((f) => f.field);
  return update(resource, fields, settingPermissions(bucket, needs), () => configure(needs));
}

async function planDatabase(glue: GlueClient, name: string, region: string): Promise<Change[]> {
  const found = await read(
    `Glue database ${name} (${region})`,
    'glue:GetDatabase',
    () => glue.send(new GetDatabaseCommand({ Name: name })),
    ['EntityNotFoundException'],
  );
  if (found) return [];
  return [
    {
      action: 'create',
      resource: `Glue database ${name} (${region})`,
      detail: 'catalog database for the crawlers',
      permission: 'glue:CreateDatabase',
      apply: async () => {
        await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: name } }));
      },
    },
  ];
}

/** Every partition folder (batch_id=...) of a prefix is one table, not a table per batch. */
const CRAWLER_CONFIGURATION = { Version: 1.0, Grouping: { TableGroupingPolicy: 'CombineCompatibleSchemas' } };

interface CrawlerWanted {
  name: string;
  region: string;
  databaseName: string;
  path: string;
  description: string;
}

/** Which fields of an existing crawler differ from what the spec wants. */
export function crawlerDrift(actual: Crawler, wanted: CrawlerWanted, roleArn: string | undefined): FieldChange[] {
  let configuration: unknown = actual.Configuration;
  try {
    // Glue may give the JSON back with other spacing or key order.
    configuration = actual.Configuration ? JSON.parse(actual.Configuration) : undefined;
  } catch {
    // not JSON: differs, and is shown as it is
  }
  return differences([
    ['Role', roleName(actual.Role), roleName(roleArn ?? actual.Role)],
    ['DatabaseName', actual.DatabaseName, wanted.databaseName],
    ['Description', actual.Description, wanted.description],
    ['Targets.S3Targets', (actual.Targets?.S3Targets ?? []).map((t) => t.Path), [wanted.path]],
    ['Configuration', configuration, CRAWLER_CONFIGURATION],
  ]);
}

async function planCrawler(glue: GlueClient, wanted: CrawlerWanted, roleArn: string | undefined): Promise<Change[]> {
  const resource = `Glue crawler ${wanted.name} (${wanted.region})`;
  const found = await read(resource, 'glue:GetCrawler', () => glue.send(new GetCrawlerCommand({ Name: wanted.name })), [
    'EntityNotFoundException',
  ]);
  const input = {
    Name: wanted.name,
    DatabaseName: wanted.databaseName,
    Description: wanted.description,
    Targets: { S3Targets: [{ Path: wanted.path }] },
    Configuration: JSON.stringify(CRAWLER_CONFIGURATION),
  };
  if (!found?.Crawler) {
    const role = requireRole(roleArn, resource);
    return [
      {
        action: 'create',
        resource,
        detail: `crawls ${wanted.path} into database ${wanted.databaseName}`,
        permission: `glue:CreateCrawler, and iam:PassRole on ${role}`,
        apply: async () => {
          await glue.send(new CreateCrawlerCommand({ ...input, Role: role }));
        },
      },
    ];
  }
  const role = roleArn ?? found.Crawler.Role;
  return update(
    resource,
    crawlerDrift(found.Crawler, wanted, roleArn),
    `glue:UpdateCrawler, and iam:PassRole on ${role}`,
    async () => {
      await glue.send(new UpdateCrawlerCommand({ ...input, Role: role }));
    },
  );
}

function requireRole(roleArn: string | undefined, resource: string): string {
  if (roleArn === undefined) {
    throw new ProvisionError(
      `${resource} must be created, and that needs an IAM role: set spec.provision.roleArn or pass --role <arn>. Nothing was changed.`,
    );
  }
  return roleArn;
}

/** The job definition the spec asks for (what CreateJob is given). */
export function wantedJob(
  spec: PipelineSpec,
  settings: { roleArn: string; glueVersion: string; workerType: WorkerType; numberOfWorkers: number },
) {
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
  return {
    Description: `glueline pipeline ${spec.name}: batch CSV to Parquet (managed by npm run provision)`,
    Role: settings.roleArn,
    Command: { Name: 'glueetl', ScriptLocation: `${scripts}${JOB_SCRIPT}`, PythonVersion: '3' },
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

/** Default arguments glueline sets only when the spec has them: one the spec no longer has is removed. */
const OPTIONAL_ARGUMENTS = ['--columns_json', '--partition_by'];

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

/** x-amz-meta-glueline-md5: the uploaded bytes' MD5, to tell an unchanged script without downloading it. */
const DIGEST_METADATA = 'glueline-md5';
const md5 = (data: Buffer) => crypto.createHash('md5').update(data).digest('hex');

async function planObject(s3: S3Client, bucket: string, key: string, body: Buffer, bucketPlanned: boolean) {
  const resource = `S3 object ${s3Uri(bucket, key)}`;
  const head = bucketPlanned
    ? undefined
    : await read(
        resource,
        `s3:GetObject on ${bucket}/${key}`,
        () => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
        ['NotFound', 'NoSuchKey', '404'],
      );
  // The digest travels as metadata: an ETag is the MD5 of the bytes only without SSE-KMS.
  const digest = md5(body);
  const current = head && (head.Metadata?.[DIGEST_METADATA] ?? head.ETag?.replace(/"/g, ''));
  if (current === digest) return [];
  const permission = `s3:PutObject on ${bucket}/${key}`;
  const apply = async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: { [DIGEST_METADATA]: digest } }),
    );
  };
  if (head) return update(resource, [{ field: 'content MD5', from: current, to: digest }], permission, apply);
  return [{ action: 'create' as const, resource, detail: `${body.length} bytes from glue/`, permission, apply }];
}

/** Reads what exists and returns the changes that make it match the spec. Changes nothing. */
export async function planProvisioning(
  spec: PipelineSpec,
  clients: ProvisionClients,
  options: ProvisionOptions = {},
): Promise<Change[]> {
  const roleArn = options.roleArn ?? spec.provision.roleArn;
  const settings = {
    glueVersion: options.glueVersion ?? spec.provision.glueVersion,
    workerType: options.workerType ?? spec.provision.workerType,
    numberOfWorkers: options.numberOfWorkers ?? spec.provision.numberOfWorkers,
  };
  const primary = primaryRegion(spec);
  const changes: Change[] = [];

  for (const { bucket, region } of bucketsOf(spec)) {
    changes.push(...(await planBucket(clients.s3(region), bucket, region, spec.provision.bucketVersioning)));
  }
  const databases = new Set<string>();
  for (const r of spec.regions) {
    if (databases.has(`${r.region}/${r.glueDatabase}`)) continue;
    databases.add(`${r.region}/${r.glueDatabase}`);
    changes.push(...(await planDatabase(clients.glue(r.region), r.glueDatabase, r.region)));
  }
  changes.push(
    ...(await planCrawler(
      clients.glue(primary.region),
      {
        name: spec.raw.crawler,
        region: primary.region,
        databaseName: primary.glueDatabase,
        path: s3Uri(primary.rawBucket, spec.raw.prefix),
        description: `glueline pipeline ${spec.name}: raw CSV batches`,
      },
      roleArn,
    )),
  );
  for (const r of spec.regions) {
    changes.push(
      ...(await planCrawler(
        clients.glue(r.region),
        {
          name: r.curatedCrawler,
          region: r.region,
          databaseName: r.glueDatabase,
          path: s3Uri(r.curatedBucket, spec.transform.curatedPrefix),
          description: `glueline pipeline ${spec.name}: curated Parquet`,
        },
        roleArn,
      )),
    );
  }

  const bundle = glueBundle(options.glueDir ?? path.resolve(__dirname, '..', '..', 'glue'));
  const curatedPlanned = changes.some(
    (c) => c.action === 'create' && c.resource.startsWith(`S3 bucket ${primary.curatedBucket} `),
  );
  const s3 = clients.s3(primary.region);
  changes.push(
    ...(await planObject(s3, primary.curatedBucket, `${SCRIPTS_PREFIX}${JOB_SCRIPT}`, bundle.script, curatedPlanned)),
    ...(await planObject(s3, primary.curatedBucket, `${SCRIPTS_PREFIX}${JOB_MODULES}`, bundle.modules, curatedPlanned)),
  );

  const glue = clients.glue(primary.region);
  const resource = `Glue job ${spec.transform.jobName} (${primary.region})`;
  const found = await read(
    resource,
    'glue:GetJob',
    () => glue.send(new GetJobCommand({ JobName: spec.transform.jobName })),
    ['EntityNotFoundException'],
  );
  if (!found?.Job) {
    const wanted = wantedJob(spec, { ...settings, roleArn: requireRole(roleArn, resource) });
    changes.push({
      action: 'create',
      resource,
      detail: `Glue ${wanted.GlueVersion} glueetl, ${wanted.NumberOfWorkers} x ${wanted.WorkerType}, script ${wanted.Command.ScriptLocation}`,
      permission: `glue:CreateJob, and iam:PassRole on ${wanted.Role}`,
      apply: async () => {
        await glue.send(new CreateJobCommand({ Name: spec.transform.jobName, ...wanted }));
      },
    });
  } else {
    const wanted = wantedJob(spec, { ...settings, roleArn: roleArn ?? found.Job.Role ?? '' });
    const JobUpdate = jobUpdate(found.Job, wanted);
    changes.push(
      ...update(
        resource,
        jobDrift(found.Job, wanted),
        `glue:UpdateJob, and iam:PassRole on ${wanted.Role}`,
        async () => {
          await glue.send(new UpdateJobCommand({ JobName: spec.transform.jobName, JobUpdate }));
        },
      ),
    );
  }
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
