/**
 * What `glueline init` learns from a CSV: its header (as column names the spec accepts) and, from a sample of its
 * rows, each column's type, in the spec's column types (src/workflow-safe/spec-parts.ts) and as the Glue job's
 * typing reads them (Spark's cast of the text): the narrowest type every non-empty sampled value fits.
 */

/** The records of a CSV text: fields split at `delimiter` outside `quote`s, doubled quotes, any line endings. */
export function parseCsv(text: string, delimiter = ',', quote = '"', maxRecords = Infinity): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    record.push(field);
    if (!(record.length === 1 && record[0] === '')) records.push(record);
    record = [];
    field = '';
  };
  for (; i < text.length && records.length < maxRecords; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === quote && text[i + 1] === quote) {
        field += quote;
        i++;
      } else if (c === quote) quoted = false;
      else field += c;
    } else if (c === quote) quoted = true;
    else if (c === delimiter) {
      record.push(field);
      field = '';
    } else if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
    } else field += c;
  }
  if (records.length < maxRecords && (field !== '' || record.length)) endRecord();
  return records;
}

/**
 * A header name as a spec column name, by the rule the Glue job matches headers with
 * (glue/glueline_transform/records.py `normalize_name`): lowercase, each character other than an ASCII letter,
 * digit or `_` becomes `_`, leading and trailing `_` dropped, `c_` before a leading digit. Both must agree, or
 * every row of the CSV that init read would be quarantined for a header that does not name the columns.
 */
export function columnName(header: string): string {
  const name = [...header.trim().toLowerCase()]
    .map((c) => (/^[a-z0-9_]$/.test(c) ? c : '_'))
    .join('')
    .replace(/^_+|_+$/g, '');
  if (!name) return 'col';
  return /^[0-9]/.test(name) ? `c_${name}` : name;
}

const INT = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d*)\.(\d+)$/;
const DOUBLE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$/;
const BOOLEAN = /^(true|false)$/i;

function validDate(value: string, pattern: RegExp): boolean {
  const m = pattern.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

const fitsInt = (v: string) => INT.test(v) && Math.abs(Number(v)) <= 2_147_483_647;
const fitsBigint = (v: string) => INT.test(v) && BigInt(v) <= 9_223_372_036_854_775_807n && BigInt(v) >= -(2n ** 63n);

/**
 * A decimal(p,s) for values written with a fixed number of places (prices, amounts): exact, where a double is
 * not. Undefined when a value has more than 38 digits in all, or no value has places.
 */
function decimalType(values: string[]): string | undefined {
  let whole = 1;
  let scale = 0;
  for (const v of values) {
    const m = DECIMAL.exec(v) ?? (INT.test(v) ? [v, v.replace(/^[+-]/, ''), ''] : null);
    if (!m) return undefined;
    whole = Math.max(whole, m[1]!.replace(/^0+(?=\d)/, '').length);
    scale = Math.max(scale, m[2]!.length);
  }
  if (scale === 0 || whole + scale > 38) return undefined;
  // Room for larger values than the sample's: 18 digits when they fit, else all 38.
  return `decimal(${whole + scale <= 18 - 2 ? 18 : 38},${scale})`;
}

/** The narrowest spec column type every value fits (empty values are nulls and fit any); string when none. */
export function inferType(values: string[]): string {
  const present = values.map((v) => v.trim()).filter((v) => v !== '');
  if (present.length === 0) return 'string';
  if (present.every(fitsInt)) return 'int';
  if (present.every(fitsBigint)) return 'bigint';
  const decimal = decimalType(present);
  if (decimal) return decimal;
  if (present.every((v) => DOUBLE.test(v))) return 'double';
  if (present.every((v) => BOOLEAN.test(v))) return 'boolean';
  if (present.every((v) => validDate(v, DATE))) return 'date';
  if (present.every((v) => validDate(v, TIMESTAMP))) return 'timestamp';
  return 'string';
}

/** A CSV's columns as the spec declares them, from its header and a sample of its rows. */
export interface InferredColumns {
  columns: { name: string; type: string; header: string }[];
  /** How many rows were sampled (at most the sample size asked for). */
  sampled: number;
}

/** The columns of `text` (a CSV with a header row), typed from its first `sampleRows` rows. */
export function inferColumns(text: string, sampleRows: number, delimiter = ',', quote = '"'): InferredColumns {
  const [header, ...rows] = parseCsv(text, delimiter, quote, sampleRows + 1);
  if (!header || header.every((h) => h.trim() === ''))
    throw new Error('has no header row: init needs the column names in its first line');
  const names = header.map(columnName);
  const twice = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  if (twice.length)
    throw new Error(
      `has a header that names ${twice.join(', ')} more than once (after folding to column names): the job ` +
        'matches headers by name and would quarantine every row, so give each column one name in the header',
    );
  const columns = header.map((h, i) => ({ name: names[i]!, header: h, type: inferType(rows.map((r) => r[i] ?? '')) }));
  return { columns, sampled: rows.length };
}
