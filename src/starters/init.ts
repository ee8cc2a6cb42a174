/**
 * `glueline init`: a pipeline from a CSV. Reads its header and a sample of its rows, infers each column's type
 * (src/starters/csv-infer.ts), and writes a spec for the local stack (the refresh generated from the columns) and
 * a transform stub beside it, then prints the next steps. The spec provisions and runs as written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { packageRoot } from '../package-root';
import { PipelineSpec } from '../workflow-safe/spec';
import { parseOrExplain } from '../workflow-safe/validation';
import { parseCommandArgs, UsageError, type CommandIo } from './common';
import { inferColumns, type InferredColumns } from './csv-infer';

export const initUsage = `usage: glueline init --csv <file> [--name <pipeline>] [--spec <file>] [--force]

Writes a pipeline from a CSV: a spec (its columns typed from the CSV's header and a sample of its rows, the
Redshift table and its refresh generated from them) and a transform stub beside it (transforms/<name>.py),
then prints the next steps. The spec runs on the local stack as written: provision it, run a batch, query.
Paths are relative to the current directory. Nothing is overwritten without --force (exit 2, nothing written).

  --csv FILE          the CSV, with a header row (required)
  --name NAME         the pipeline's name (default: from the CSV's file name, dates left out)
  --spec FILE         where the spec goes (default: <name>.yaml)
  --sample-rows N     rows read to infer the types (default 1000)
  --delimiter C       the CSV's field separator (default ,)
  --force             overwrite the spec and the transform if they exist
`;

const options = {
  csv: { type: 'string' },
  name: { type: 'string' },
  spec: { type: 'string' },
  'sample-rows': { type: 'string' },
  delimiter: { type: 'string' },
  force: { type: 'boolean', default: false },
} as const;

/** A pipeline name from a file name: `Orders-2026-11-30.csv` is `orders`. */
export function pipelineNameOf(file: string): string {
  const base = path
    .basename(file)
    .replace(/\.[^.]*$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/(-\d+)+$/, '')
    .replace(/^[^a-z]+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return base || 'pipeline';
}

interface Plan {
  name: string;
  csv: string;
  specFile: string;
  /** The transform, relative to the spec file (as transform.module names it). */
  module: string;
  inferred: InferredColumns;
  delimiter: string;
}

const quoted = (s: string) => (/^[\w./-]+$/.test(s) ? s : `'${s.replace(/'/g, "''")}'`);

/** The spec's YAML text: the local stack's names, the columns, the stub, and the generated refresh. */
export function specText(plan: Plan): string {
  const { name } = plan;
  const db = name.replace(/-/g, '_');
  const schemaRef = path.relative(path.dirname(path.resolve(plan.specFile)), path.join(packageRoot, 'schema'));
  const columns = plan.inferred.columns.map(
    (c) =>
      `    - { name: ${c.name}, type: ${quoted(c.type)} }` +
      (c.name === c.header.trim() ? '' : `   # header: ${JSON.stringify(c.header)}`),
  );
  return `# yaml-language-server: $schema=${path.join(schemaRef, 'glueline-spec.schema.json').split(path.sep).join('/')}
# Written by glueline init from ${path.basename(plan.csv)} (types from its header and ${plan.inferred.sampled} row(s)):
# check the types, then provision and run it on the local stack (glueline init prints the commands).
name: ${name}
description: ${name}, CSV to Parquet to Redshift (local stack)
regions:
  - region: us-east-1
    rawBucket: glueline-${name}-raw-use1
    curatedBucket: glueline-${name}-curated-use1
    glueDatabase: ${db}
    curatedCrawler: ${name}-curated-use1
    redshift: { workgroupName: glueline, database: dev }
raw:
  prefix: raw/
  crawler: ${name}-raw
transform:
  jobName: ${name}-to-parquet
  curatedPrefix: ${name}/
  csv: { delimiter: ${JSON.stringify(plan.delimiter)}, quote: '"' }
  # How each value is typed; a value that does not fit is rejected with the reason (glueline rejects).
  # Add nullable: false to reject rows with no value in a column.
  columns:
${columns.join('\n')}
  # Your transform, relative to this file. Declare the columns it adds in addedColumns (name and type):
  #   addedColumns:
  #     - { name: total, type: 'decimal(12,2)' }
  module: ${plan.module}
  function: transform
redshift:
  # The refresh is generated: create the table if missing (the columns, the added ones, batch_id), stage the batch,
  # COPY the Parquet in its column order, replace the batch. SQL of yours may run before: and after: it.
  table: ${db}
notify:
  email: { to: [data-team@example.com], from: glueline@example.com }
provision:
  roleArn: arn:aws:iam::123456789012:role/glueline-local
`;
}

/** The transform stub: returns the rows as they are, with the rule and derived column of the walkthrough as comments. */
export function transformStub(plan: Plan): string {
  const numeric = plan.inferred.columns.find((c) => /^(int|bigint|double|decimal)/.test(c.type))?.name ?? 'amount';
  return `"""The ${plan.name} pipeline's transform (${path.basename(plan.specFile)}), written by glueline init.

glueline calls transform(df, ctx) with the batch's rows read and typed by transform.columns, and writes what it
returns as Parquet, then loads it into Redshift. ctx.batch_id, ctx.arguments and ctx.spark are there too.
"""

from pyspark.sql import functions as F  # noqa: F401 (for your rules and derived columns)


def transform(df, ctx):
    # A rule: the rows it matches go to the quarantine with the reason; glueline rejects prints them.
    #   ctx.reject(F.col("${numeric}") < 0, "${numeric} must not be negative")
    # A derived column: declare it in the spec's transform.addedColumns, and the table gets it.
    #   df = df.withColumn("${numeric}_doubled", F.col("${numeric}") * 2)
    # Return the columns in their order (withColumn and filter keep it): the refresh loads them by position.
    return df
`;
}

/** The next steps, with the spec's own paths and names. */
export function nextSteps(plan: Plan, written: string[]): string {
  const spec = plan.specFile;
  const columns = plan.inferred.columns.map((c) => `${c.name} ${c.type}`).join(', ');
  return `wrote ${written.join(' and ')}
columns (from the header and ${plan.inferred.sampled} row(s)): ${columns}

next steps:
  1. check the column types in ${spec}; put your logic in ${path.join(path.dirname(spec), plan.module)}
  2. npm run devstack -- up                                     (the local stack, in a glueline checkout)
  3. glueline provision --spec ${spec}
  4. glueline worker &                                           (or in another terminal)
  5. glueline run --spec ${spec} --batch-id ${plan.name}-1 --files ${plan.csv} --wait
  6. glueline query --spec ${spec} --region us-east-1 --sql "select * from ${plan.name.replace(/-/g, '_')} limit 10"
     glueline rejects --spec ${spec} --batch-id ${plan.name}-1
`;
}

function planFrom(values: {
  csv?: string;
  name?: string;
  spec?: string;
  'sample-rows'?: string;
  delimiter?: string;
}): Plan {
  if (!values.csv) throw new UsageError('--csv is required: the CSV file to start from, with a header row');
  const name = values.name ?? pipelineNameOf(values.csv);
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(name))
    throw new UsageError(
      `--name ${JSON.stringify(name)} is not a usable pipeline name: use 1-40 lowercase letters, digits and -, starting with a letter`,
    );
  const sampleRows = Number(values['sample-rows'] ?? '1000');
  if (!Number.isInteger(sampleRows) || sampleRows < 1)
    throw new UsageError(
      `--sample-rows ${values['sample-rows']} is not a usable number of rows: use a whole number, 1 or more`,
    );
  const delimiter = values.delimiter ?? ',';
  if (delimiter.length !== 1) throw new UsageError(`--delimiter ${JSON.stringify(delimiter)} must be one character`);
  let text: string;
  try {
    text = fs.readFileSync(values.csv, 'utf8');
  } catch (err) {
    throw new UsageError(`--csv ${values.csv}: cannot read it (${(err as Error).message})`);
  }
  let inferred: InferredColumns;
  try {
    inferred = inferColumns(text, sampleRows, delimiter);
  } catch (err) {
    throw new UsageError(`--csv ${values.csv} ${(err as Error).message}`);
  }
  const module = `transforms/${name.replace(/-/g, '_')}.py`;
  return { name, csv: values.csv, specFile: values.spec ?? `${name}.yaml`, module, inferred, delimiter };
}

/** The `init` command. @returns the exit code. */
export async function initCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs('init', args, options);
  if (values.help) {
    io.out(initUsage);
    return 0;
  }
  const plan = planFrom(values);
  const moduleFile = path.join(path.dirname(plan.specFile), plan.module);
  const spec = specText(plan);
  const files: [string, string][] = [
    [plan.specFile, spec],
    [moduleFile, transformStub(plan)],
  ];
  const existing = files.map(([f]) => f).filter((f) => fs.existsSync(f));
  if (existing.length && !values.force)
    throw new UsageError(
      `${existing.join(' and ')} already ${existing.length > 1 ? 'exist' : 'exists'}: nothing was written; ` +
        'pass --force to overwrite, or --spec for another file',
    );
  // The spec as written must validate: a column name or type init got wrong fails here, not at provision.
  parseOrExplain(PipelineSpec, parseYaml(spec), plan.specFile);
  for (const [file, text] of files) {
    fs.mkdirSync(path.dirname(file) || '.', { recursive: true });
    fs.writeFileSync(file, text);
  }
  io.out(
    nextSteps(
      plan,
      files.map(([f]) => f),
    ),
  );
  return 0;
}
