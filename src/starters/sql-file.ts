/**
 * `{ sqlFile: path }` items of a spec's refresh lists (src/workflow-safe/spec-refresh.ts): read relative to the spec
 * file when a command loads it, split into statements and put in the item's place, so the workflow input (and the
 * run's history) holds exactly the statements that run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SQL_VARIABLE_ERROR, usesOnlySqlVariables } from '../workflow-safe/spec-refresh';
import type { Locate } from '../workflow-safe/validation';

/**
 * The statements of a SQL script with the line each starts on, split at each `;` outside quotes ('...', "..."),
 * comments (`--`, `/* *\/`) and dollar-quoted bodies (`$$ ... $$`, `$tag$ ... $tag$`, as in a stored procedure).
 * Statements that hold only comments and blanks are left out.
 */
export function splitSqlStatements(text: string): { sql: string; line: number }[] {
  const out: { sql: string; line: number }[] = [];
  let start = 0;
  let i = 0;
  const push = (end: number) => {
    const raw = text.slice(start, end);
    const code = raw.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').trim();
    if (code) {
      const lead = raw.length - raw.trimStart().length;
      const line = text.slice(0, start + lead).split('\n').length;
      out.push({ sql: raw.trim(), line });
    }
    start = end + 1;
  };
  while (i < text.length) {
    const c = text[i]!;
    const dollar = c === '$' ? /^\$[A-Za-z_]?\w*\$/.exec(text.slice(i)) : null;
    if (c === "'" || c === '"') {
      const close = text.indexOf(c, i + 1);
      i = close < 0 ? text.length : close + 1;
    } else if (text.startsWith('--', i)) {
      const close = text.indexOf('\n', i);
      i = close < 0 ? text.length : close + 1;
    } else if (text.startsWith('/*', i)) {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? text.length : close + 2;
    } else if (dollar && !text.startsWith('${', i)) {
      const close = text.indexOf(dollar[0], i + dollar[0].length);
      i = close < 0 ? text.length : close + dollar[0].length;
    } else if (c === ';') {
      push(i);
      i++;
    } else i++;
  }
  push(text.length);
  return out;
}

type Lists = Record<string, unknown>;

/**
 * Replaces every `{ sqlFile }` item of `redshift.sql`, `before` and `after` in the spec as read (before
 * validation) by the file's statements. @returns the problems, each at the item's line in `what` (the spec
 * file) or at the statement's line in the SQL file: a file that cannot be read, holds no statement, or uses a
 * `${name}` that is not a variable.
 */
export function inlineSqlFiles(value: unknown, specFile: string, locate?: Locate): string[] {
  const redshift = (value as { redshift?: Lists } | null)?.redshift;
  if (!redshift || typeof redshift !== 'object') return [];
  const problems: string[] = [];
  for (const list of ['sql', 'before', 'after']) {
    const items = redshift[list];
    if (!Array.isArray(items)) continue;
    redshift[list] = items.flatMap((item: unknown, i) => {
      const name = (item as { sqlFile?: unknown } | null)?.sqlFile;
      if (typeof name !== 'string' || Object.keys(item as object).length !== 1) return [item];
      const at = locate?.(['redshift', list, i, 'sqlFile']) ?? locate?.(['redshift', list, i]);
      const where = `${specFile}${at ? `:${at.line}:${at.column}` : ''}: redshift.${list}[${i}].sqlFile`;
      const file = path.resolve(path.dirname(specFile), name);
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
        problems.push(
          `${where}: ${JSON.stringify(name)} cannot be read (${reason}: ${file}): the path is relative to the spec file`,
        );
        return [item];
      }
      const statements = splitSqlStatements(text);
      if (statements.length === 0) problems.push(`${where}: ${JSON.stringify(name)} holds no statement: ${file}`);
      for (const s of statements)
        if (!usesOnlySqlVariables(s.sql)) problems.push(`${file}:${s.line}: ${SQL_VARIABLE_ERROR.error}`);
      return statements.map((s) => s.sql);
    });
  }
  return problems;
}
