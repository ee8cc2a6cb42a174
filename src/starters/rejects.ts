/**
 * `glueline rejects`: prints a batch's quarantined rows with their reasons, read from the primary curated
 * bucket as the Glue job's manifest lists them: rows that did not fit the spec's columns, and rows the
 * transform's `ctx.reject` rules matched.
 */
import { errorName } from '../aws/errors';
import { getObjectText } from '../aws/s3-objects';
import { manifestKey, primaryRegion, quarantineBatchPrefix, s3Uri, type GlueManifest } from '../workflow-safe/layout';
import { Batch } from '../workflow-safe/run-input';
import { awsClients, parseCommandArgs, UsageError, type CommandIo } from './common';
import { loadSpec } from './spec-arg';

export const rejectsUsage = `usage: glueline rejects --spec <file> --batch-id <id> [--json] [--max-rows N]

Prints the batch's rejected rows with their reasons: where each came from (the CSV's s3:// URI and line),
why it was rejected (a value that does not fit its column, or the reason of your transform's ctx.reject),
and the record as it was in the file. Read from the quarantine files the Glue job's manifest lists, under
s3://<primary curated bucket>/<transform.quarantinePrefix>batch_id=<id>/. AWS credentials come from the
SDK's chain; GLUELINE_AWS_ENDPOINT points it at a local stack. Exit 1 when the batch has no manifest yet
(its transform has not succeeded), 2 on bad flags.

  --json         one JSON document: {batchId, quarantineUri, rowsIn, rowsRejected, rows: [{source_file, line, reason, record}]}
  --max-rows N   print at most N rows (default 100; --json prints them all)

the same with the AWS CLI:
  aws s3 cp --recursive s3://<curated bucket>/<quarantinePrefix>batch_id=<id>/ .
`;

const options = {
  spec: { type: 'string' },
  'batch-id': { type: 'string' },
  json: { type: 'boolean', default: false },
  'max-rows': { type: 'string' },
} as const;

/** One quarantined row, as the job writes it (JSON lines; glue/README.md, "Quarantine"). */
export interface RejectedRow {
  source_file: string | null;
  line: number | null;
  reason: string;
  record: string | null;
}

/** The rows of one quarantine file's JSON lines. */
export function parseRejectedRows(text: string, where: string): RejectedRow[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        const row = JSON.parse(line) as Partial<RejectedRow>;
        return {
          source_file: row.source_file ?? null,
          line: row.line ?? null,
          reason: row.reason ?? '',
          record: row.record ?? null,
        };
      } catch {
        throw new Error(`${where} line ${i + 1} is not JSON: the quarantine files are JSON lines written by the job`);
      }
    });
}

/** A row as text: where it came from and why, then the record indented. */
export function formatRejectedRow(row: RejectedRow): string[] {
  const where = row.source_file ? `${row.source_file}${row.line !== null ? ` line ${row.line}` : ''}` : '(no source)';
  return [`${where}: ${row.reason}`, `  ${row.record ?? ''}`];
}

/** The `rejects` command. @returns the exit code. */
export async function rejectsCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('rejects', args, options);
  if (values.help) {
    io.out(rejectsUsage);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument(s) ${positionals.join(' ')}: use --batch-id`);
  const spec = loadSpec(values.spec);
  const id = values['batch-id'];
  if (!id) throw new UsageError('--batch-id is required: the batch whose rejected rows to print');
  const checked = Batch.shape.id.safeParse(id);
  if (!checked.success) throw new UsageError(`--batch-id ${JSON.stringify(id)} ${checked.error.issues[0]!.message}`);
  const maxRows = values['max-rows'] === undefined ? 100 : Number(values['max-rows']);
  if (!Number.isInteger(maxRows) || maxRows < 0)
    throw new UsageError(`--max-rows ${values['max-rows']} is not a whole number of rows`);

  const batch = { id } as Batch;
  const primary = primaryRegion(spec);
  const s3 = awsClients().s3(primary.region);
  const where = { region: primary.region, bucket: primary.curatedBucket };
  const quarantineUri = s3Uri(primary.curatedBucket, quarantineBatchPrefix(spec, batch));
  let manifest: GlueManifest;
  try {
    manifest = JSON.parse(await getObjectText(s3, { ...where, key: manifestKey(spec, batch) })) as GlueManifest;
  } catch (err) {
    if (errorName(err) !== 'NoSuchKey') throw err;
    io.err(
      `rejects: batch ${id} of pipeline ${spec.name} has no manifest at ${s3Uri(primary.curatedBucket, manifestKey(spec, batch))}: ` +
        'its transform has not succeeded yet (see glueline status)',
    );
    return 1;
  }
  const rows: RejectedRow[] = [];
  for (const file of manifest.quarantineFiles) {
    const text = await getObjectText(s3, { ...where, key: file.key });
    rows.push(...parseRejectedRows(text, s3Uri(primary.curatedBucket, file.key)));
  }
  if (values.json) {
    const document = { batchId: id, quarantineUri, rowsIn: manifest.rowsIn, rowsRejected: manifest.rowsRejected, rows };
    io.out(JSON.stringify(document, null, 2));
    return 0;
  }
  for (const row of rows.slice(0, maxRows)) for (const line of formatRejectedRow(row)) io.out(line);
  const shown = rows.length > maxRows ? `, ${maxRows} shown` : '';
  io.out(`(${rows.length} of ${manifest.rowsIn} rows rejected${shown}${rows.length ? `; in ${quarantineUri}` : ''})`);
  return 0;
}
