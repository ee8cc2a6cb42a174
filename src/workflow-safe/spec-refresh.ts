/**
 * The spec's refresh SQL (`redshift.table`, `before`, `after`, `sql`, and `{ sqlFile }` items): the schema written
 * once. With `redshift.table`, the standard refresh is generated from `transform.columns` and
 * `transform.addedColumns`, in the Parquet's column order; SQL of your own may run before and after it. Kept beside
 * spec.ts, which composes these fields into `redshift`; `refreshStatements` is what every reader of the SQL uses.
 */
import { z } from 'zod';

/** What `${name}` may stand for in the refresh SQL; src/workflow-safe/layout.ts fills them in per region. */
export const SQL_VARIABLES = [
  'batch_id',
  'region',
  'curated_uri',
  'copy_manifest_uri',
  'curated_bucket',
  'curated_prefix',
  'glue_database',
] as const;

/** True when every `${name}` in `sql` is one of {@link SQL_VARIABLES}. */
export const usesOnlySqlVariables = (sql: string) =>
  [...sql.matchAll(/\$\{(\w+)\}/g)].every((m) => (SQL_VARIABLES as readonly string[]).includes(m[1]!));
export const SQL_VARIABLE_ERROR = {
  error: `uses a \${name} that is not a variable: use ${SQL_VARIABLES.map((v) => `\${${v}}`).join(', ')}`,
};

/** One refresh statement: not empty, and its `${name}` variables are all known. */
export const sqlStatement = z.string().min(1).refine(usesOnlySqlVariables, SQL_VARIABLE_ERROR);

/**
 * `{ sqlFile: path }` in a list of statements: the statements of a file, relative to the spec file, split at each
 * `;` outside quotes, comments and `$$` bodies. glueline's commands read it when they load the spec and put its
 * statements in its place, so a run's history shows exactly what ran.
 */
export const SqlFileItem = z.strictObject({
  sqlFile: z
    .string()
    .regex(/^(?!\/)(?![A-Za-z]:)[^\\]*\.sql$/, {
      error: 'is not a usable SQL file: name a .sql file relative to the spec file (for example sql/orders.sql)',
    })
    .meta({ description: 'A .sql file, relative to the spec file.', examples: ['sql/rollups.sql'] }),
});
export type SqlFileItem = z.output<typeof SqlFileItem>;

/** A list of statements, each a string or the statements of a `{ sqlFile }`. */
export const statementList = z.array(z.union([sqlStatement, SqlFileItem])).min(1);
type StatementList = z.output<typeof statementList>;

/** A Redshift table name, optionally schema-qualified: `sales`, `analytics.sales`. */
export const tableName = z.string().regex(/^[a-z_][a-z0-9_$]{0,126}(\.[a-z_][a-z0-9_$]{0,126})?$/, {
  error: 'is not a usable table name: use lowercase letters, digits, _ and $, optionally schema.table',
});

/** The fields `redshift` gets for its refresh SQL. */
export const refreshFields = {
  table: tableName.optional().meta({
    description:
      'Generate the standard refresh into this table: create it if missing (`transform.columns`, then ' +
      '`transform.addedColumns`, then the batch column), stage the batch in a temporary table, COPY the Parquet ' +
      'in its column order, delete the batch, insert it. Left out: `sql` is the whole refresh.',
    examples: ['orders', 'analytics.orders'],
  }),
  batchColumn: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,126}$/, { error: 'is not a usable column name: use lowercase letters, digits and _' })
    .optional()
    .meta({
      description:
        "With `table`: the column that holds each row's batch id (varchar(63)), by which a batch is replaced. " +
        'Left out: batch_id.',
      examples: ['batch_id'],
    }),
  before: statementList.optional().meta({
    description: 'With `table`: statements of yours run before the generated refresh, in the same transaction.',
    examples: [['create table if not exists orders_loads (batch_id varchar(63), loaded_at timestamp)']],
  }),
  after: statementList.optional().meta({
    description:
      'With `table`: statements of yours run after the generated refresh (rollups, grants), in the same ' +
      'transaction; `{ sqlFile }` for a long script.',
    examples: [["insert into orders_loads values ('${batch_id}', getdate())", { sqlFile: 'sql/orders-rollups.sql' }]],
  }),
};

interface RefreshSection {
  table?: string;
  batchColumn?: string;
  before?: StatementList;
  after?: StatementList;
  sql?: StatementList;
}
interface ColumnLike {
  name: string;
  type: string;
}
interface TransformLike {
  columns?: ColumnLike[];
  addedColumns?: ColumnLike[];
  module?: string;
  partitionBy?: string;
}

/** A column type of the spec as Redshift names it. Strings get Redshift's longest VARCHAR: a CSV value has no length limit. */
export function redshiftType(type: string): string {
  const named: Record<string, string> = {
    string: 'varchar(65535)',
    int: 'integer',
    bigint: 'bigint',
    double: 'double precision',
    boolean: 'boolean',
    date: 'date',
    timestamp: 'timestamp',
  };
  return named[type] ?? type;
}

/** The columns the Parquet holds, in its order: the declared columns, then the transform's added ones. */
export function parquetColumns(transform: TransformLike): ColumnLike[] {
  return (transform.columns ?? []).concat(transform.addedColumns ?? []);
}

/** The temporary table the generated refresh stages a batch in (unqualified: temporary tables have no schema). */
export const stageTable = (table: string) => `glueline_stage_${table.slice(table.lastIndexOf('.') + 1)}`;

/**
 * The standard refresh of `table`, with `${name}` variables: Redshift's COPY of Parquet matches columns by position,
 * so the stage lists them in the Parquet's order (the job writes the columns, then the added ones; a transform
 * without declared addedColumns must return the columns in their order, as withColumn and filter do); the insert
 * names them, so an existing table's order does not matter.
 */
export function generatedRefresh(table: string, batchColumn: string, transform: TransformLike): string[] {
  const columns = parquetColumns(transform);
  const typed = columns.map((c) => `${c.name} ${redshiftType(c.type)}`).join(', ');
  const names = columns.map((c) => c.name).join(', ');
  const stage = stageTable(table);
  return [
    `create table if not exists ${table} (${typed}, ${batchColumn} varchar(63))`,
    `create temp table ${stage} (${typed})`,
    `copy ${stage} from '\${copy_manifest_uri}' iam_role default format as parquet manifest`,
    `delete from ${table} where ${batchColumn} = '\${batch_id}'`,
    `insert into ${table} (${names}, ${batchColumn}) select ${names}, '\${batch_id}' from ${stage}`,
  ];
}

/** A refresh statement with `${name}` variables, at its path under `redshift` (the generated ones at `table`). */
export interface LabelledStatement {
  path: (string | number)[];
  sql: string;
}

/**
 * Every statement of the refresh's transaction, in order, with its `${name}` variables and where the spec holds
 * it: `sql` as written, or `before`, the generated refresh of `table`, then `after`. `{ sqlFile }` items are read
 * by the commands that load the spec; one still here is refused by validation, and left out.
 */
export function labelledRefreshStatements(spec: {
  transform: TransformLike;
  redshift?: RefreshSection;
}): LabelledStatement[] {
  const r = spec.redshift;
  if (!r) return [];
  const listed = (field: string, list: StatementList | undefined) =>
    (list ?? []).flatMap((sql, i) => (typeof sql === 'string' ? [{ path: [field, i], sql }] : []));
  if (!r.table) return listed('sql', r.sql);
  return [
    ...listed('before', r.before),
    ...generatedRefresh(r.table, r.batchColumn ?? 'batch_id', spec.transform).map((sql) => ({ path: ['table'], sql })),
    ...listed('after', r.after),
  ];
}

/** Every statement of the refresh's transaction, in order, with its `${name}` variables. */
export const refreshStatements = (spec: { transform: TransformLike; redshift?: RefreshSection }): string[] =>
  labelledRefreshStatements(spec).map((s) => s.sql);

/** Cross-field checks of the refresh fields; `issue` adds a problem at a path under `redshift`. */
export function checkRefresh(
  r: RefreshSection,
  transform: TransformLike,
  issue: (path: (string | number)[], message: string) => void,
) {
  for (const list of ['sql', 'before', 'after'] as const) {
    r[list]?.forEach((item, i) => {
      if (typeof item !== 'string')
        issue(
          [list, i, 'sqlFile'],
          `${item.sqlFile} was not read: glueline's commands read a sqlFile relative to the spec file when they ` +
            'load it; a workflow input started otherwise must list the statements',
        );
    });
  }
  if (!r.table) {
    if (!r.sql) issue([], 'needs sql (the refresh statements) or table (the standard refresh, generated)');
    for (const list of ['before', 'after'] as const)
      if (r[list]) issue([list], `goes with table (around the generated refresh): without it, put these in sql`);
    return;
  }
  if (r.sql) issue(['sql'], 'and table both make the refresh: keep table (and before/after), or sql alone');
  if (!transform.columns) {
    issue(['table'], 'needs transform.columns: the generated refresh creates the table from them');
    return;
  }
  if (transform.partitionBy) {
    issue(
      ['table'],
      `cannot load ${transform.partitionBy}: with transform.partitionBy it is in the folder names, not in the ` +
        'Parquet that COPY reads; leave out partitionBy, or write the refresh in sql',
    );
  }
  if (parquetColumns(transform).some((c) => c.name === (r.batchColumn ?? 'batch_id'))) {
    issue(
      ['batchColumn'],
      `${r.batchColumn ?? 'batch_id'} is a column of the transform too: name another batchColumn for the batch id`,
    );
  }
}
