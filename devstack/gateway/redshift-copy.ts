/**
 * Redshift's `COPY <table> FROM 's3://bucket/prefix' ...` on the local stack (parsed and checked in
 * redshift-copy-options.ts): lists the objects under the prefix in moto's S3 (or, with MANIFEST, reads the
 * manifest's entries), reads each (CSV as is; Parquet decoded, its columns loaded by position into the table's,
 * or the column list's, with Redshift's count check), and feeds the rows to Postgres's own COPY through PGlite's
 * `/dev/blob`.
 */
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Transaction } from '@electric-sql/pglite';
import type { CopyCommand } from './redshift-copy-options';

export { parseCopy, type CopyCommand } from './redshift-copy-options';

/**
 * Keys a COPY reads under a prefix: not folder markers, not Spark's `_SUCCESS` and other
 * `_`- or `.`-prefixed files, not `.json` manifests, not empty objects.
 */
function loadable(key: string, size: number): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return size > 0 && name !== '' && !name.startsWith('_') && !name.startsWith('.') && !name.endsWith('.json');
}

/**
 * Where a COPY reads from: S3 in one region (the database's, or the COPY's REGION), and the buckets' own regions.
 * Redshift reaches a bucket only in the region it reads from; another region's bucket answers 301.
 */
export interface CopyReader {
  s3: S3Client;
  /** The region the COPY reads from: its REGION, or the database's. */
  region: string;
  /** A bucket's region, or undefined when there is no such bucket (S3 then answers for itself). */
  regionOf(bucket: string): Promise<string | undefined>;
}

/** S3's answer to a request for a bucket in another region, as Redshift reports it in a COPY's error. */
const PERMANENT_REDIRECT =
  'S3ServiceException:The bucket you are attempting to access must be addressed using the specified endpoint. ' +
  'Please send all future requests to this endpoint.,Status 301,Error PermanentRedirect';

/**
 * Fails as Redshift does when `bucket` is in another region than the COPY reads from: without REGION, the
 * database's region; with REGION, that one (Parquet takes no REGION, so it reads only its own region's buckets).
 */
async function checkBucketRegion(reader: CopyReader, command: CopyCommand, bucket: string, what: string) {
  const home = await reader.regionOf(bucket);
  if (!home || home === reader.region) return;
  const fix = command.region
    ? `its REGION '${command.region}' is not the bucket's: write REGION '${home}'`
    : command.format === 'PARQUET'
      ? `Redshift reads Parquet only from a bucket in its own region (REGION is refused for columnar formats): ` +
        `load a copy in a bucket in ${reader.region}`
      : `add REGION '${home}' to read another region's bucket, or load a copy in a bucket in ${reader.region}`;
  throw new Error(
    `${what === 'manifest' ? 'Problem reading manifest file - ' : ''}${PERMANENT_REDIRECT} ` +
      `(s3://${bucket} is in ${home}; the COPY reads from ${reader.region}: ${fix})`,
  );
}

/** One object a COPY loads. */
interface CopySource {
  bucket: string;
  key: string;
}

async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<CopySource[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (loadable(object.Key!, object.Size ?? 0)) keys.push(object.Key!);
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort().map((key) => ({ bucket, key }));
}

async function getObject(s3: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Body!.transformToByteArray();
}

const isNotFound = (err: unknown) => ['NoSuchKey', 'NotFound', 'NoSuchBucket'].includes((err as Error).name);

/** Formats whose manifest entries must give `meta.content_length` (Redshift reads them by byte range). */
const COLUMNAR = new Set<CopyCommand['format']>(['PARQUET']);

/**
 * The files a COPY ... MANIFEST loads, checked as Redshift checks them: the manifest must exist and be
 * JSON with an `entries` array of `{ url, mandatory?, meta?: { content_length } }`; a columnar format
 * needs every entry's content_length (and the local stack also holds it to the object's size, which on
 * Redshift would fail the read instead); a missing mandatory file fails the COPY, a missing optional one
 * is skipped. The first sentence of each error is Redshift's own.
 */
async function manifestEntries(reader: CopyReader, command: CopyCommand): Promise<CopySource[]> {
  const { s3 } = reader;
  const manifestUri = `s3://${command.bucket}/${command.prefix}`;
  await checkBucketRegion(reader, command, command.bucket, 'manifest');
  let text: string;
  try {
    text = Buffer.from(await getObject(s3, command.bucket, command.prefix)).toString('utf8');
  } catch (err) {
    if (isNotFound(err)) {
      throw new Error(
        `Problem reading manifest file - S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey (${manifestUri})`,
        { cause: err },
      );
    }
    throw err;
  }
  const notJson = (why: string, cause?: unknown) =>
    new Error(`Manifest file is not in correct json format (${manifestUri}: ${why})`, { cause });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw notJson((err as Error).message, err);
  }
  const entries = (parsed as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) throw notJson('it has no "entries" array');
  const sources: CopySource[] = [];
  for (const [i, entry] of (entries as unknown[]).entries()) {
    const { url, mandatory, meta } = (entry ?? {}) as { url?: unknown; mandatory?: unknown; meta?: unknown };
    const match = typeof url === 'string' ? /^s3:\/\/([^/]+)\/(.+)$/.exec(url) : null;
    if (!match) throw notJson(`entries[${i}].url ${JSON.stringify(url)} is not an s3://bucket/key URL`);
    const bucket = match[1]!;
    const key = match[2]!;
    const contentLength = (meta as { content_length?: unknown } | undefined)?.content_length;
    if (COLUMNAR.has(command.format)) {
      if (meta === undefined) throw new Error(`File entry does not have 'meta' key. (${url}, in ${manifestUri})`);
      if (typeof contentLength !== 'number') {
        throw new Error(`File entry does not have 'meta.content_length' key. (${url}, in ${manifestUri})`);
      }
    }
    await checkBucketRegion(reader, command, bucket, 'file');
    let size: number;
    try {
      size = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength ?? 0;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      if (mandatory === true) {
        throw new Error(
          `Mandatory url is not present in manifest file. (${url} does not exist; manifest ${manifestUri})`,
          { cause: err },
        );
      }
      continue;
    }
    if (typeof contentLength === 'number' && contentLength !== size) {
      throw new Error(
        `content_length ${contentLength} of ${url} in manifest ${manifestUri} is not the object's size (${size} bytes): ` +
          `write the manifest from the objects as they are now`,
      );
    }
    sources.push({ bucket, key });
  }
  if (sources.length === 0) {
    throw new Error(`Manifest file ${manifestUri} names no file that exists: nothing to load`);
  }
  return sources;
}

/** One CSV field as Postgres's CSV reader takes it back: unquoted empty is NULL. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text: string;
  if (value instanceof Date) text = value.toISOString();
  else if (value instanceof Uint8Array) text = `\\x${Buffer.from(value).toString('hex')}`;
  else if (typeof value === 'object')
    text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
  else text = String(value);
  return `"${text.replace(/"/g, '""')}"`;
}

/**
 * The table's column names, as Postgres stores them. The name is resolved as Postgres resolves it in
 * SQL (search path, temporary tables first), so a COPY into a `create temp table` staging table works.
 */
async function tableColumns(tx: Transaction, table: string): Promise<string[]> {
  const { rows } = await tx.query<{ attname: string }>(
    `select attname from pg_attribute
      where attrelid = to_regclass($1) and attnum > 0 and not attisdropped order by attnum`,
    [table],
  );
  if (rows.length === 0) throw new Error(`relation "${table}" does not exist`);
  // Quoted, so a mixed-case column name survives the COPY's column list.
  return rows.map((r) => `"${r.attname.replace(/"/g, '""')}"`);
}

/**
 * Parquet rows as CSV, with the column list they fill. As on Redshift, the file's columns go into the table's
 * (or the COPY's column list's) by position, not by name, and their numbers must match (with FILLRECORD, the file
 * may lack trailing columns, which load NULL); the count error is worded as Redshift's Spectrum scan words it.
 */
async function parquetAsCsv(tx: Transaction, command: CopyCommand, file: Uint8Array, uri: string) {
  const { parquetMetadata, parquetReadObjects, parquetSchema } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const buffer = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
  const metadata = parquetMetadata(buffer);
  const parquetColumns = parquetSchema(metadata).children.map((c) => c.element.name);
  const target = command.columns ?? (await tableColumns(tx, command.table));
  const fits = command.fillRecord ? parquetColumns.length <= target.length : parquetColumns.length === target.length;
  if (!fits) {
    throw new Error(
      `Spectrum Scan Error: Unmatched number of columns between table and file. Table columns: ${target.length}, ` +
        `Data columns: ${parquetColumns.length}, File name: ${uri} (a COPY of Parquet loads the file's columns ` +
        `(${parquetColumns.join(', ')}) by position into ${command.columns ? 'the column list' : command.table} ` +
        `(${target.join(', ')}): make them the same columns in the same order, or name the columns to load)`,
    );
  }
  const rows = await parquetReadObjects({ file: buffer, metadata, compressors, columns: parquetColumns });
  const csv = rows.map((row) => parquetColumns.map((c) => csvField(row[c])).join(',')).join('\n');
  return { csv: csv ? `${csv}\n` : '', columns: target.slice(0, parquetColumns.length) };
}

/** Runs a parsed COPY inside the statement's transaction; returns the number of rows loaded. */
export async function runCopy(tx: Transaction, command: CopyCommand, reader: CopyReader): Promise<number> {
  const { s3 } = reader;
  if (!command.manifest) await checkBucketRegion(reader, command, command.bucket, 'prefix');
  const sources = command.manifest
    ? await manifestEntries(reader, command)
    : await listKeys(s3, command.bucket, command.prefix);
  if (sources.length === 0) {
    throw new Error(`The specified S3 prefix '${command.prefix}' does not exist in bucket ${command.bucket}`);
  }
  let loaded = 0;
  for (const { bucket, key } of sources) {
    let file = await getObject(s3, bucket, key);
    let csv: string;
    let columns = command.columns;
    let options = `format csv`;
    if (command.format === 'PARQUET') {
      ({ csv, columns } = await parquetAsCsv(tx, command, file, `s3://${bucket}/${key}`));
    } else {
      if (command.gzip) file = gunzipSync(file);
      // IGNOREHEADER skips lines at the top of every file, as Redshift does.
      csv = Buffer.from(file).toString('utf8').split('\n').slice(command.ignoreHeader).join('\n');
      const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
      options += `, delimiter ${literal(command.delimiter)}, quote ${literal(command.quote)}`;
      if (command.nullAs !== undefined) options += `, null ${literal(command.nullAs)}`;
    }
    if (csv.trim() === '') continue;
    const columnList = columns ? ` (${columns.join(', ')})` : '';
    const result = await tx.query(`copy ${command.table}${columnList} from '/dev/blob' with (${options})`, [], {
      blob: new Blob([csv]),
    });
    loaded += result.affectedRows ?? 0;
  }
  return loaded;
}
