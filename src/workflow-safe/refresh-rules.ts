/**
 * The refresh's three groups of statements and Redshift's transaction rules for them. `redshift.sql` runs in
 * one transaction (BatchExecuteStatement, or ExecuteStatement for a single statement); `redshift.autoCommitSql`
 * runs first, each statement by an ExecuteStatement of its own, committed as it ends: the place for what
 * Redshift refuses inside a transaction block (external-table DDL such as `ALTER TABLE ... ADD PARTITION`,
 * `VACUUM`) or what would end the transaction early (`TRUNCATE`, a `CALL` to a procedure that commits);
 * `redshift.autoCommitAfterSql` runs the same way after the transaction committed (`VACUUM`, `ANALYZE`).
 * Kept beside spec.ts, which declares the field and calls the checks, and spec-refresh.ts, which says which
 * statements the transaction holds (`sql`, or `before`, the generated refresh of `table` and `after`); pure and
 * deterministic.
 */
import type { LabelledStatement } from './spec-refresh';

/** The description of `redshift.autoCommitSql`, for the schema and the generated reference. */
export const AUTO_COMMIT_SQL_DESCRIPTION =
  'Statements that cannot run inside a transaction block, run before `sql` in every region that has a ' +
  'Redshift target, each by an ExecuteStatement call of its own and committed as it ends (a failed one stops ' +
  'the refresh; those before it stay committed): external-table DDL (`ALTER TABLE ... ADD PARTITION`, ' +
  '`CREATE EXTERNAL TABLE`), `INSERT` into an external table, `VACUUM`, `TRUNCATE`, a `CALL` to a procedure ' +
  'that COMMITs or TRUNCATEs. Same `${name}` variables as `sql`. Left out: none.';

/** The description of `redshift.autoCommitAfterSql`, for the schema and the generated reference. */
export const AUTO_COMMIT_AFTER_SQL_DESCRIPTION =
  'Statements run after `sql` has committed, in every region that has a Redshift target, each by an ' +
  'ExecuteStatement call of its own and committed as it ends, outside a transaction block: table maintenance ' +
  'after the load (`VACUUM`, `ANALYZE`). A failed one stops the refresh (the load and those before it stay ' +
  'committed); none runs when the transaction fails. Same `${name}` variables as `sql`. Left out: none.';

/** Examples of `redshift.autoCommitAfterSql`, for the generated reference. */
export const AUTO_COMMIT_AFTER_SQL_EXAMPLES = [['vacuum delete only orders_mart.orders', 'analyze orders_mart.orders']];

/** Examples of `redshift.autoCommitSql`, for the generated reference. */
export const AUTO_COMMIT_SQL_EXAMPLES = [
  ["call orders_mart.prepare_batch('${batch_id}')"],
  ["alter table spectrum.events add if not exists partition (batch_id='${batch_id}') location '${curated_uri}'"],
];

/** ALTER TABLE clauses that only external (Spectrum) tables have. */
const EXTERNAL_ALTER =
  /^alter\s+table\s+(?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))?\s+(?:add\s+(?:if\s+not\s+exists\s+)?partition\b|drop\s+partition\b|partition\s*\(|set\s+(?:location|file\s+format|table\s+properties)\b)/i;

/** Statements Redshift will not run, or not roll back, inside a transaction block, with why (Redshift's docs). */
const RULES: { pattern: RegExp; name: (m: RegExpExecArray) => string; why: string; fix?: string }[] = [
  {
    pattern: /^(create|alter|drop)\s+external\s+table\b/i,
    name: (m) => `${m[1]!.toUpperCase()} EXTERNAL TABLE`,
    why: 'Redshift refuses external-table DDL inside a transaction block',
  },
  {
    pattern: EXTERNAL_ALTER,
    name: () => 'ALTER TABLE on an external table',
    why: 'Redshift refuses ALTER TABLE on an external table inside a transaction block',
  },
  {
    pattern: /^alter\s+table\s+\S+\s+append\b/i,
    name: () => 'ALTER TABLE APPEND',
    why: 'Redshift refuses ALTER TABLE APPEND inside a transaction block',
  },
  {
    pattern: /^(vacuum)\b/i,
    name: () => 'VACUUM',
    why: 'Redshift refuses it inside a transaction block',
    fix: 'redshift.autoCommitAfterSql, which runs each statement on its own after the transaction commits',
  },
  {
    pattern: /^(create\s+database|drop\s+database)\b/i,
    name: (m) => m[1]!.replace(/\s+/g, ' ').toUpperCase(),
    why: 'Redshift refuses it inside a transaction block',
  },
  {
    pattern: /^truncate\b/i,
    name: () => 'TRUNCATE',
    why: 'Redshift commits the transaction a TRUNCATE runs in, so the statements before it could not be rolled back',
  },
];

/** `sql` without leading comments and blank space. */
const statementText = (sql: string) => sql.replace(/^(?:\s*(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/))*\s*/, '');

/**
 * What makes `sql` unfit for a transaction block on Redshift (its name and why), or undefined when nothing
 * that can be told from its text does. A `CALL` cannot be judged by its text: a procedure that COMMITs or
 * TRUNCATEs fails inside the transaction, and belongs in autoCommitSql.
 */
export function nonTransactionalStatement(sql: string): { name: string; why: string; fix: string } | undefined {
  const text = statementText(sql);
  for (const rule of RULES) {
    const m = rule.pattern.exec(text);
    if (m) return { name: rule.name(m), why: rule.why, fix: rule.fix ?? BEFORE_FIX };
  }
  return undefined;
}

/** Where a statement the transaction cannot hold goes, unless its rule says otherwise. */
const BEFORE_FIX = 'redshift.autoCommitSql, which runs each statement on its own before the transaction';

/** A problem with the refresh's statements, at its path under the spec. */
export interface RefreshProblem {
  path: (string | number)[];
  message: string;
}

/** The auto-commit groups, run one statement at a time outside the transaction (before it, and after it). */
export interface AutoCommitGroups {
  autoCommitSql?: string[];
  autoCommitAfterSql?: string[];
}

/** The statements of every group, each at its path under `redshift`. */
function allGroups(transaction: LabelledStatement[], groups: AutoCommitGroups): LabelledStatement[] {
  const listed = (field: keyof AutoCommitGroups) =>
    (groups[field] ?? []).map((sql, i): LabelledStatement => ({ path: [field, i], sql }));
  return [...transaction, ...listed('autoCommitSql'), ...listed('autoCommitAfterSql')];
}

/**
 * Problems with the refresh groups: a statement of the transaction that cannot run in it, and a statement of
 * either group over the Data API's 100 KB with its variables filled in.
 * @param transaction the statements the refresh's transaction runs, each at its path under `redshift`
 * @param longest the longest `sql` becomes in any region, in bytes, and where
 */
export function refreshGroupProblems(
  transaction: LabelledStatement[],
  groups: AutoCommitGroups,
  longest: (sql: string) => { region: string; bytes: number } | undefined,
  maxBytes: number,
): RefreshProblem[] {
  const problems: RefreshProblem[] = [];
  for (const { path, sql } of transaction) {
    const found = nonTransactionalStatement(sql);
    if (!found) continue;
    problems.push({
      path: ['redshift', ...path],
      message:
        `is ${found.name} (${statementText(sql).slice(0, 80)}), which cannot run in the refresh's transaction: ` +
        `${found.why}. Move it to ${found.fix}`,
    });
  }
  const reported = new Set<string>();
  for (const { path, sql } of allGroups(transaction, groups)) {
    const size = longest(sql);
    // The generated refresh's statements share one path (`table`): reported once, for the longest.
    if (!size || size.bytes <= maxBytes || reported.has(path.join('.'))) continue;
    reported.add(path.join('.'));
    problems.push({
      path: ['redshift', ...path],
      message:
        `is ${size.bytes} bytes in ${size.region} with its variables filled in (a batch id of 63 characters); ` +
        `the Redshift Data API takes at most ${maxBytes} bytes (100 KB) per statement: split it, or move it ` +
        'into a stored procedure',
    });
  }
  return problems;
}

/** A COPY's source bucket (when written out, not a variable), whether its format is columnar, and its REGION. */
function copySource(sql: string): { bucket: string; columnar: boolean; region?: string } | undefined {
  const text = statementText(sql);
  const from = /^copy\b[\s\S]*?\bfrom\s+'s3:\/\/([^/'$]+)/i.exec(text);
  if (!from) return undefined;
  const region = /\bregion\s+(?:as\s+)?'([^']+)'/i.exec(text)?.[1];
  return { bucket: from[1]!, columnar: /\b(parquet|orc)\b/i.test(text), region };
}

/**
 * A refresh COPY that reads a bucket the spec puts in another region than the Redshift target it runs on:
 * Redshift reads Parquet and ORC only from its own region (REGION is refused for columnar formats), and other
 * formats from another region only with REGION naming it.
 */
export function copyRegionProblems(
  spec: { regions: { region: string; rawBucket: string; curatedBucket: string; redshift?: unknown }[] },
  transaction: LabelledStatement[],
  groups: AutoCommitGroups,
): RefreshProblem[] {
  const bucketRegion = new Map(
    spec.regions.flatMap((r) => [[r.rawBucket, r.region] as const, [r.curatedBucket, r.region] as const]),
  );
  const problems: RefreshProblem[] = [];
  for (const { path, sql } of allGroups(transaction, groups)) {
    const copy = copySource(sql);
    const home = copy && bucketRegion.get(copy.bucket);
    if (!copy || !home) continue;
    const away = spec.regions.find((r) => r.redshift && r.region !== home && (copy.columnar || copy.region !== home));
    if (!away) continue;
    problems.push({
      path: ['redshift', ...path],
      message:
        `is a COPY from s3://${copy.bucket}, which the spec puts in ${home}, but it also runs on the Redshift ` +
        `target in ${away.region}: ` +
        (copy.columnar
          ? 'Redshift COPY reads Parquet and ORC only from a bucket in its own region (REGION is refused for ' +
            "columnar formats). Read the region's own copy: FROM '${copy_manifest_uri}' ... MANIFEST"
          : `Redshift COPY reads another region's bucket only with REGION '${home}'. Add it, or read the ` +
            "region's own copy: FROM '${copy_manifest_uri}' ... MANIFEST"),
    });
  }
  return problems;
}
