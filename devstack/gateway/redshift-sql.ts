/**
 * The SQL side of the Redshift Data API emulation: named `:param` binding, and Postgres results
 * turned into the Data API's typed Fields and ColumnMetadata.
 */
import type { Results } from '@electric-sql/pglite';
import { AwsError } from './aws-protocol';

/** A Data API parameter: `{ name, value }`, the value always a string. */
export interface SqlParameter {
  name: string;
  value: string;
}

/**
 * Rewrites `:name` parameters to Postgres's `$n` and returns the values in order. Quoted strings,
 * quoted identifiers, comments and `::` casts are left alone. A name without a value is a
 * ValidationException, as the Data API answers.
 */
export function bindParameters(sql: string, parameters: SqlParameter[] = []): { text: string; values: string[] } {
  const given = new Map(parameters.map((p) => [p.name, p.value]));
  const order: string[] = [];
  let text = '';
  let i = 0;
  const copyUntil = (end: string, from: number) => {
    const stop = sql.indexOf(end, from);
    const to = stop < 0 ? sql.length : stop + end.length;
    text += sql.slice(i, to);
    i = to;
  };
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "'" || c === '"') copyUntil(c, i + 1);
    else if (c === '-' && next === '-') copyUntil('\n', i);
    else if (c === '/' && next === '*') copyUntil('*/', i + 2);
    else if (c === ':' && next === ':') copyUntil('::', i);
    else if (c === ':' && next !== undefined && /[A-Za-z_]/.test(next)) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))![0];
      if (!given.has(name)) {
        throw new AwsError(
          'ValidationException',
          `The SQL refers to parameter :${name}, which Parameters does not give.`,
        );
      }
      if (!order.includes(name)) order.push(name);
      text += `$${order.indexOf(name) + 1}`;
      i += name.length + 1;
    } else {
      text += c;
      i += 1;
    }
  }
  return { text, values: order.map((name) => given.get(name)!) };
}

/** ALTER TABLE clauses Redshift has only for external (Spectrum) tables. */
const EXTERNAL_ALTER_CLAUSE =
  /^\s*alter\s+table\s+(?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))?\s+(?:add\s+(?:if\s+not\s+exists\s+)?partition\b|drop\s+partition\b|partition\s*\(|set\s+(?:location|file\s+format|table\s+properties)\b)/i;

/**
 * Redshift's name for an external-table DDL statement, which Redshift refuses inside a transaction
 * block (`ERROR: CREATE EXTERNAL TABLE cannot run inside a transaction block`); undefined for any
 * other SQL. An ALTER TABLE is told apart by its clauses, which only external tables have.
 */
export function externalTableDdl(sql: string): string | undefined {
  const text = withoutLeadingComments(sql);
  const explicit = /^(create|alter|drop)\s+external\s+table\b/i.exec(text);
  if (explicit) return `${explicit[1]!.toUpperCase()} EXTERNAL TABLE`;
  if (EXTERNAL_ALTER_CLAUSE.test(text)) return 'ALTER EXTERNAL TABLE';
  return undefined;
}

/** `sql` without the comments and blank space before its first word. */
const withoutLeadingComments = (sql: string) => sql.replace(/^(?:\s*(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/))*\s*/, '');

/**
 * Redshift's name for a statement it refuses inside a transaction block (`ERROR: VACUUM cannot run inside a
 * transaction block`), so in a BatchExecuteStatement's transaction: external-table DDL, VACUUM, CREATE and DROP
 * DATABASE, ALTER TABLE APPEND (the Redshift Database Developer Guide's pages for each). Undefined for any other
 * SQL. ExecuteStatement and an AUTO_COMMIT batch run these outside a transaction block, as Redshift does.
 */
export function refusedInTransactionBlock(sql: string): string | undefined {
  const external = externalTableDdl(sql);
  if (external) return external;
  const text = withoutLeadingComments(sql);
  const named = /^(vacuum|create\s+database|drop\s+database)\b/i.exec(text);
  if (named) return named[1]!.replace(/\s+/g, ' ').toUpperCase();
  if (/^alter\s+table\s+(?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))?\s+append\b/i.test(text))
    return 'ALTER TABLE APPEND';
  return undefined;
}

/**
 * True for a TRUNCATE, which on Redshift commits the transaction it runs in ("TRUNCATE commits the transaction in
 * which it is run"): in a batch, the statements before it and the TRUNCATE stay committed whatever comes after.
 */
export const commitsTransaction = (sql: string) => /^truncate\b/i.test(withoutLeadingComments(sql));

/** Postgres type OIDs the gateway maps, with the name the Data API reports as ColumnMetadata.typeName. */
const PG_TYPES: Record<number, string> = {
  16: 'bool',
  17: 'bytea',
  18: 'char',
  19: 'name',
  20: 'int8',
  21: 'int2',
  23: 'int4',
  25: 'text',
  26: 'oid',
  114: 'json',
  700: 'float4',
  701: 'float8',
  1042: 'bpchar',
  1043: 'varchar',
  1082: 'date',
  1083: 'time',
  1114: 'timestamp',
  1184: 'timestamptz',
  1186: 'interval',
  1266: 'timetz',
  1700: 'numeric',
  3802: 'jsonb',
};

/**
 * Types PGlite should hand over as Postgres's own text, which is also how Redshift's Data API
 * renders them in `stringValue` (timestamps as `2024-01-01 10:00:00`, numerics exact).
 */
export const RAW_TEXT_PARSERS: Record<number, (value: string) => string> = Object.fromEntries(
  [20, 114, 1082, 1083, 1114, 1184, 1186, 1266, 1700, 3802].map((oid) => [oid, (value: string) => value]),
);

/** One value as the Data API's Field union. */
export type Field =
  | { isNull: true }
  | { booleanValue: boolean }
  | { longValue: number }
  | { doubleValue: number }
  | { stringValue: string }
  | { blobValue: string };

function toField(value: unknown, typeId: number): Field {
  if (value === null || value === undefined) return { isNull: true };
  switch (PG_TYPES[typeId]) {
    case 'bool':
      return { booleanValue: Boolean(value) };
    case 'int2':
    case 'int4':
    case 'int8':
    case 'oid':
      return { longValue: Number(value) };
    case 'float4':
    case 'float8':
      return { doubleValue: Number(value) };
    case 'bytea':
      return { blobValue: Buffer.from(value as Uint8Array).toString('base64') };
  }
  return { stringValue: typeof value === 'string' ? value : JSON.stringify(value) };
}

/** A statement's result as the Data API pages it out. */
export interface StatementResult {
  columnMetadata: Record<string, unknown>[];
  records: Field[][];
}

/** Turns a PGlite result (queried with `rowMode: 'array'`, so equal column names stay apart) into Data API records. */
export function toStatementResult(result: Results<unknown[]>): StatementResult {
  const columnMetadata = result.fields.map((f) => ({
    name: f.name,
    label: f.name,
    typeName: PG_TYPES[f.dataTypeID] ?? 'varchar',
    nullable: 1,
    isCaseSensitive: ['text', 'varchar', 'bpchar', 'char'].includes(PG_TYPES[f.dataTypeID] ?? ''),
    isCurrency: false,
    isSigned: ['int2', 'int4', 'int8', 'float4', 'float8', 'numeric'].includes(PG_TYPES[f.dataTypeID] ?? ''),
    length: 0,
    precision: 0,
    scale: 0,
    schemaName: '',
    tableName: '',
  }));
  const records = result.rows.map((row) => result.fields.map((f, i) => toField(row[i], f.dataTypeID)));
  return { columnMetadata, records };
}
