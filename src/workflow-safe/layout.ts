/**
 * Where a batch's data lives, and what the Glue job is told: pure functions of the spec and the batch,
 * shared by the workflow (deterministic), the activities, the starters and the Glue script's contract.
 */
import type { PipelineSpec, RegionSpec, SQL_VARIABLES } from './spec';
import { refreshStatements } from './spec-refresh';
import type { Batch } from './run-input';

type SqlVariable = (typeof SQL_VARIABLES)[number];

export const primaryRegion = (spec: PipelineSpec): RegionSpec => spec.regions[0]!;
export const replicaRegions = (spec: PipelineSpec): RegionSpec[] => spec.regions.slice(1);

export function regionSpec(spec: PipelineSpec, region: string): RegionSpec {
  const found = spec.regions.find((r) => r.region === region);
  if (!found)
    throw new Error(`region ${region} is not in spec ${spec.name} (${spec.regions.map((r) => r.region).join(', ')})`);
  return found;
}

/** The batch's CSVs in every raw bucket. */
export const rawBatchPrefix = (spec: PipelineSpec, batch: Batch) => `${spec.raw.prefix}batch_id=${batch.id}/`;
/** The s3:// prefix of the batch's rejected rows, when its manifest counts any: what the run's progress and notices show. */
export function quarantineUri(spec: PipelineSpec, batch: Batch, manifest: Pick<GlueManifest, 'rowsRejected'>) {
  if (manifest.rowsRejected === 0) return undefined;
  return s3Uri(primaryRegion(spec).curatedBucket, quarantineBatchPrefix(spec, batch));
}
/** The batch's Parquet in every curated bucket. */
export const curatedBatchPrefix = (spec: PipelineSpec, batch: Batch) =>
  `${spec.transform.curatedPrefix}batch_id=${batch.id}/`;
/** Rows the job could not parse, in the primary curated bucket. */
export const quarantineBatchPrefix = (spec: PipelineSpec, batch: Batch) =>
  `${spec.transform.quarantinePrefix}batch_id=${batch.id}/`;
/**
 * The Glue job's manifest, in the curated bucket, outside the crawled prefix. In a replica region it is
 * copied last, after every data file is verified, so its presence marks a complete copy.
 */
export const manifestKey = (spec: PipelineSpec, batch: Batch) => `_glueline/manifests/${spec.name}/${batch.id}.json`;

/**
 * The batch's Redshift COPY manifest, in every curated bucket of a region with a Redshift target, beside the
 * Glue job's manifest (outside the crawled prefix). It lists exactly the Glue manifest's Parquet in that bucket,
 * so `COPY ... MANIFEST` (`${copy_manifest_uri}`) loads those files and nothing else under the prefix.
 */
export const copyManifestKey = (spec: Pick<PipelineSpec, 'name'>, batch: Pick<Batch, 'id'>) =>
  `_glueline/copy-manifests/${spec.name}/${batch.id}.manifest`;

export const s3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

/**
 * A Redshift COPY manifest: every entry mandatory (a missing file fails the COPY instead of loading less), with
 * `meta.content_length`, which Redshift requires for Parquet and ORC and Spectrum uses too.
 */
export interface RedshiftCopyManifest {
  entries: { url: string; mandatory: true; meta: { content_length: number } }[];
}

/** The COPY manifest of `files` (keys and sizes) in `bucket`. */
export function redshiftCopyManifest(bucket: string, files: { key: string; bytes: number }[]): RedshiftCopyManifest {
  return {
    entries: files.map((f) => ({ url: s3Uri(bucket, f.key), mandatory: true, meta: { content_length: f.bytes } })),
  };
}

/** The Glue job argument that tags a job run with the pipeline run that started it (idempotency). */
export const RUN_TAG_ARGUMENT = '--glueline_run_tag';

/** What the Glue job script is told. glue/ reads exactly these names. */
export function glueJobArguments(spec: PipelineSpec, batch: Batch): Record<string, string> {
  const primary = primaryRegion(spec);
  const args: Record<string, string> = {
    ...spec.transform.arguments,
    '--batch_id': batch.id,
    '--input_path': s3Uri(primary.rawBucket, rawBatchPrefix(spec, batch)),
    '--output_path': s3Uri(primary.curatedBucket, curatedBatchPrefix(spec, batch)),
    '--quarantine_path': s3Uri(primary.curatedBucket, quarantineBatchPrefix(spec, batch)),
    '--manifest_path': s3Uri(primary.curatedBucket, manifestKey(spec, batch)),
    '--delimiter': spec.transform.csv.delimiter,
    '--quote': spec.transform.csv.quote,
  };
  if (spec.transform.columns) args['--columns_json'] = JSON.stringify(spec.transform.columns);
  if (spec.transform.partitionBy) args['--partition_by'] = spec.transform.partitionBy;
  return args;
}

/** What the Glue job writes to `--manifest_path` when it succeeds. Keys are relative to the bucket. */
export interface GlueManifest {
  batchId: string;
  inputFiles: string[];
  rowsIn: number;
  rowsOut: number;
  rowsRejected: number;
  /** Rows a user transform removed without ctx.reject (negative: added); only when transform.module ran. */
  rowsDropped?: number;
  outputFiles: { key: string; bytes: number }[];
  quarantineFiles: { key: string; bytes: number }[];
}

/**
 * The refresh SQL for one region (`redshift.sql`, or the refresh generated for `redshift.table`), with the run's
 * values in place of `${name}` variables.
 */
export function renderSql(spec: PipelineSpec, batch: Batch, region: string): string[] {
  return refreshStatements(spec).map((sql) => fillSqlVariables(spec, batch, region, sql));
}

/**
 * The refresh's autoCommitSql (each run on its own before the transaction), or with `group` its
 * autoCommitAfterSql (each run on its own after it), for one region, with the run's values.
 */
export function renderAutoCommitSql(
  spec: PipelineSpec,
  batch: Batch,
  region: string,
  group: 'autoCommitSql' | 'autoCommitAfterSql' = 'autoCommitSql',
): string[] {
  return (spec.redshift?.[group] ?? []).map((sql) => fillSqlVariables(spec, batch, region, sql));
}

/** `sql` with the run's values in one region in place of its `${name}` variables (the spec allows no others). */
export function fillSqlVariables(spec: PipelineSpec, batch: Batch, region: string, sql: string): string {
  const r = regionSpec(spec, region);
  const vars: Record<SqlVariable, string> = {
    batch_id: batch.id,
    region,
    curated_bucket: r.curatedBucket,
    curated_prefix: curatedBatchPrefix(spec, batch),
    curated_uri: s3Uri(r.curatedBucket, curatedBatchPrefix(spec, batch)),
    copy_manifest_uri: s3Uri(r.curatedBucket, copyManifestKey(spec, batch)),
    glue_database: r.glueDatabase,
  };
  // The spec schema rejects unknown variables, so every name here is one of SQL_VARIABLES.
  return sql.replace(/\$\{(\w+)\}/g, (_, name: string) => vars[name as SqlVariable]);
}

/** The longest prefix, ending in '/', that every key shares ('' when none). */
export function commonDirectory(keys: string[]): string {
  if (keys.length === 0) return '';
  let prefix = keys[0]!.slice(0, keys[0]!.lastIndexOf('/') + 1);
  for (const key of keys) {
    while (!key.startsWith(prefix)) prefix = prefix.slice(0, prefix.slice(0, -1).lastIndexOf('/') + 1);
  }
  return prefix;
}
