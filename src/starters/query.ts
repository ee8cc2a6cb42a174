/**
 * `glueline query`: runs SQL through the Redshift Data API against a spec's region's Redshift
 * target and prints the rows as a table. The data scientists' path; locally it reads what the demo loaded.
 */
import type { Field, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { fieldValue, runStatement } from '../aws/redshift-data';
import type { RedshiftTarget } from '../workflow-safe/spec';
import { didYouMean } from '../workflow-safe/suggest';
import { shellWord } from '../temporal/run-links';
import { awsClients, jsonOption, parseCommandArgs, printJson, UsageError, type CommandIo } from './common';
import { formatTable } from './progress-view';
import { loadSpec } from './spec-arg';

export const queryUsage = `usage: glueline query --spec <file> --region <region> --sql "<SQL>" [--max-rows N] [--json]

Runs SQL on the Redshift target of the spec's region (workgroup or cluster, database; a cluster's dbUser or
secretArn) through the Redshift Data API, waits for it, and prints the rows as a table. AWS credentials come
from the SDK's chain; GLUELINE_AWS_ENDPOINT points it at a local stack (whose Redshift holds what the demo
and the pipeline loaded). Exit 1 with Redshift's error text when the SQL fails, 2 on bad flags.

  --max-rows N   print at most N rows (default 100)
  --json         print one JSON document instead: {region, statementId, columns, rows, rowCount, shown}, each
                 row an array of its values as JSON (numbers, booleans, strings, null; a blob as base64)

the same with the AWS CLI:
  aws redshift-data execute-statement --region <region> --workgroup-name <wg> --database <db> --sql "<SQL>"
  aws redshift-data describe-statement --id <id>
  aws redshift-data get-statement-result --id <id>
(there is no temporal CLI equivalent: the query does not go through Temporal)
`;

const options = {
  spec: { type: 'string' },
  region: { type: 'string' },
  sql: { type: 'string' },
  'max-rows': { type: 'string' },
  ...jsonOption,
} as const;

/** A field as the table shows it: NULL for SQL NULL, a blob by its size. */
const cellText = (f: Field): string =>
  f.blobValue !== undefined ? `<${f.blobValue.length} bytes>` : (fieldValue(f) ?? (f.isNull ? 'NULL' : ''));

/** A field as `--json` shows it: the Data API's typed value, null for SQL NULL, a blob as base64. */
const jsonValue = (f: Field): string | number | boolean | null =>
  f.isNull
    ? null
    : (f.longValue ?? f.doubleValue ?? f.booleanValue ?? f.stringValue ?? (f.blobValue ? fieldValue(f) : null));

/** Runs `sql` on `target` in `region` and waits for it; throws with Redshift's error text when it fails. */
export async function runSql(client: RedshiftDataClient, region: string, target: RedshiftTarget, sql: string) {
  const { statementId, columns, records } = await runStatement(client, { region, target, sqls: [sql] });
  return {
    id: statementId,
    columns: columns.map((c) => c.label ?? c.name ?? ''),
    rows: records.map((record) => record.map(cellText)),
    values: records.map((record) => record.map(jsonValue)),
  };
}

/** The `query` command. @returns the exit code. */
export async function queryCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs('query', args, options);
  if (values.help) {
    io.out(queryUsage);
    return 0;
  }
  const spec = loadSpec(values.spec);
  const regions = spec.regions.map((r) => r.region);
  const region = spec.regions.find((r) => r.region === values.region);
  if (!region)
    throw new UsageError(
      `--region ${values.region ?? '(missing)'}: name one of the spec's regions, ${regions.join(', ')}` +
        didYouMean(values.region ?? '', regions),
    );
  if (!region.redshift)
    throw new UsageError(
      `--region ${region.region}: the spec has no redshift target there; use one of ${spec.regions
        .filter((r) => r.redshift)
        .map((r) => r.region)
        .join(', ')}`,
    );
  if (!values.sql?.trim())
    throw new UsageError('--sql is required: the SQL to run, e.g. --sql "select count(*) from sales"');
  const maxRows = values['max-rows'] === undefined ? 100 : Number(values['max-rows']);
  if (!Number.isInteger(maxRows) || maxRows < 0)
    throw new UsageError(`--max-rows ${shellWord(values['max-rows']!)} is not a whole number of rows`);
  const client = awsClients().redshiftData(region.region);
  try {
    const { id, columns, rows, values: typed } = await runSql(client, region.region, region.redshift, values.sql);
    if (values.json) {
      const shown = typed.slice(0, maxRows);
      printJson(io, {
        region: region.region,
        statementId: id,
        columns,
        rows: shown,
        rowCount: rows.length,
        shown: shown.length,
      });
      return 0;
    }
    for (const line of formatTable(columns, rows.slice(0, maxRows))) io.out(line);
    io.out(`(${rows.length} row${rows.length === 1 ? '' : 's'}${rows.length > maxRows ? `, ${maxRows} shown` : ''})`);
    return 0;
  } catch (err) {
    io.err(`query failed: ${(err as Error).message}`);
    return 1;
  } finally {
    client.destroy();
  }
}
