/**
 * Parsing a Redshift `COPY <table> [(columns)] FROM 's3://...' <options>` as Redshift checks it: an
 * authorization is required (IAM_ROLE, CREDENTIALS, or ACCESS_KEY_ID with SECRET_ACCESS_KEY: exactly one), and a
 * columnar format (PARQUET) takes only the parameters Redshift's "COPY from columnar data formats" lists, so
 * REGION, IGNOREHEADER, DELIMITER and the like fail the statement there as they do on Redshift. An option the
 * gateway cannot honour fails too, rather than loading something else than Redshift would.
 */

/** A parsed Redshift COPY from S3. */
export interface CopyCommand {
  /** As written in the SQL, possibly schema-qualified or quoted. */
  table: string;
  columns?: string[];
  bucket: string;
  /** The key prefix to load, or with `manifest` the manifest's key. */
  prefix: string;
  /** MANIFEST: `prefix` names a JSON manifest whose entries are the files to load. */
  manifest: boolean;
  format: 'CSV' | 'PARQUET';
  /** Lines to skip at the top of every file. */
  ignoreHeader: number;
  delimiter: string;
  quote: string;
  nullAs?: string;
  gzip: boolean;
  /** FILLRECORD: a file may have fewer columns than the table; the missing trailing ones load NULL. */
  fillRecord: boolean;
  /** The bucket's region when it differs from the cluster's (not with a columnar format). */
  region?: string;
}

const COPY_FROM_S3 =
  /^\s*copy\s+((?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))?)\s*(?:\(([^)]*)\))?\s+from\s+'s3:\/\/([^/']+)\/?([^']*)'([\s\S]*?);?\s*$/i;

/** The ways to authorize a COPY; Redshift takes exactly one. */
const AUTHORIZATION = ['IAM_ROLE', 'CREDENTIALS', 'ACCESS_KEY_ID', 'SECRET_ACCESS_KEY', 'SESSION_TOKEN'];
/** Options that change nothing on the local stack (statistics, error tolerance, formats of dates). */
const IGNORED_WITH_VALUE = new Set(['TIMEFORMAT', 'DATEFORMAT', 'MAXERROR', 'COMPUPDATE', 'STATUPDATE']);
const IGNORED_FLAGS = new Set([
  'EMPTYASNULL',
  'BLANKSASNULL',
  'TRUNCATECOLUMNS',
  'TRIMBLANKS',
  'ACCEPTANYDATE',
  'ACCEPTINVCHARS',
  'SERIALIZETOJSON',
  'EXPLICIT_IDS',
]);
/**
 * What a COPY of a columnar format takes besides FROM and FORMAT ("COPY from columnar data formats" in the
 * Redshift Database Developer Guide); any other parameter fails the COPY.
 */
const COLUMNAR_OPTIONS = new Set([
  ...AUTHORIZATION,
  'ACCEPTINVCHARS',
  'FILLRECORD',
  'STATUPDATE',
  'MANIFEST',
  'EXPLICIT_IDS',
  'SERIALIZETOJSON',
]);

/** Redshift's own message for a CREDENTIALS string it cannot read (and for a COPY without authorization). */
export const INVALID_CREDENTIALS =
  "Invalid credentials. Must be of the format: credentials 'aws_iam_role=...' or " +
  "'aws_access_key_id=...;aws_secret_access_key=...[;token=...]'";
const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** Words and 'quoted strings' (with '' escapes) of COPY's option list. */
function tokens(text: string): { word?: string; string?: string }[] {
  const out: { word?: string; string?: string }[] = [];
  const re = /'((?:[^']|'')*)'|([^\s']+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push(m[1] !== undefined ? { string: m[1].replace(/''/g, "'") } : { word: m[2]!.toUpperCase() });
  }
  return out;
}

/** IAM_ROLE is `default` or a role ARN (several, comma-separated, for a role chain). */
function checkIamRole(value: { word?: string; string?: string }): void {
  if (value.word === 'DEFAULT') return;
  const arns = value.string?.split(',') ?? [];
  if (arns.length === 0 || !arns.every((arn) => ROLE_ARN.test(arn.trim()))) {
    throw new Error(
      `IAM_ROLE must be default or a quoted role ARN ('arn:aws:iam::<account>:role/<name>'), got ${value.string ?? value.word}`,
    );
  }
}

/** CREDENTIALS '...' holds aws_iam_role=<arn>, or an access key pair with an optional token, and no spaces. */
function checkCredentials(value: string): void {
  const names = new Set(value.split(';').map((part) => part.slice(0, part.indexOf('=')).toLowerCase()));
  const role = /(?:^|;)aws_iam_role=([^;]*)/i.exec(value)?.[1];
  const keys = names.has('aws_access_key_id') && names.has('aws_secret_access_key');
  const roleOk = role !== undefined && ROLE_ARN.test(role);
  if (roleOk !== keys && !/\s/.test(value)) return;
  // The string itself is not repeated: it may hold a secret key.
  throw new Error(
    `${INVALID_CREDENTIALS} (CREDENTIALS holds neither aws_iam_role=<role ARN> nor aws_access_key_id and ` +
      'aws_secret_access_key, or holds both, or a space)',
  );
}

/** Exactly one authorization, complete: Redshift refuses a COPY without one. */
function checkAuthorization(seen: Map<string, { word?: string; string?: string }>): void {
  const methods = [
    seen.has('IAM_ROLE') && 'IAM_ROLE',
    seen.has('CREDENTIALS') && 'CREDENTIALS',
    (seen.has('ACCESS_KEY_ID') || seen.has('SECRET_ACCESS_KEY') || seen.has('SESSION_TOKEN')) && 'ACCESS_KEY_ID',
  ].filter(Boolean);
  if (methods.length === 0) {
    throw new Error(
      `${INVALID_CREDENTIALS} (the COPY names no authorization: add IAM_ROLE default, or ` +
        `IAM_ROLE 'arn:aws:iam::<account>:role/<name>' of a role the cluster or workgroup may assume)`,
    );
  }
  if (methods.length > 1) {
    throw new Error(`COPY takes one authorization, got ${methods.join(' and ')}: keep IAM_ROLE alone`);
  }
  if (methods[0] === 'ACCESS_KEY_ID' && !(seen.has('ACCESS_KEY_ID') && seen.has('SECRET_ACCESS_KEY'))) {
    throw new Error('ACCESS_KEY_ID and SECRET_ACCESS_KEY must be used together (SESSION_TOKEN needs both)');
  }
  const role = seen.get('IAM_ROLE');
  if (role) checkIamRole(role);
  const credentials = seen.get('CREDENTIALS');
  if (credentials) checkCredentials(credentials.string ?? credentials.word ?? '');
}

/**
 * Parses a COPY from S3, or returns undefined when the SQL is not one. A COPY Redshift would refuse, or one
 * with an option the gateway cannot honour, throws: the statement fails.
 */
export function parseCopy(sql: string): CopyCommand | undefined {
  const match = COPY_FROM_S3.exec(sql);
  if (!match) return undefined;
  const [, table, columns, bucket, prefix, options] = match;
  const command: CopyCommand = {
    table: table!,
    columns: columns?.split(',').map((c) => c.trim()),
    bucket: bucket!,
    prefix: prefix!,
    manifest: false,
    format: 'CSV',
    ignoreHeader: 0,
    delimiter: ',',
    quote: '"',
    gzip: false,
    fillRecord: false,
  };
  const seen = new Map<string, { word?: string; string?: string }>();
  const list = tokens(options!);
  for (let i = 0; i < list.length; i++) {
    const word = list[i]!.word;
    if (word === undefined) throw new Error(`unexpected '${list[i]!.string}' in COPY options`);
    const takeValue = () => {
      if (list[i + 1]?.word === 'AS') i++;
      const value = list[++i];
      if (!value) throw new Error(`COPY option ${word} needs a value`);
      seen.set(word, value);
      return value.string ?? value.word!;
    };
    applyOption(command, word, takeValue, seen);
  }
  checkAuthorization(seen);
  checkColumnar(command, seen);
  return command;
}

/** One option of the list into `command` (and `seen`); `takeValue` reads the value after it. */
function applyOption(
  command: CopyCommand,
  word: string,
  takeValue: () => string,
  seen: Map<string, { word?: string; string?: string }>,
): void {
  if (word === 'WITH') return; // [WITH] CREDENTIALS: WITH is ignored
  if (!seen.has(word)) seen.set(word, {});
  if (AUTHORIZATION.includes(word) || IGNORED_WITH_VALUE.has(word)) takeValue();
  else if (IGNORED_FLAGS.has(word)) return;
  else if (word === 'FORMAT') setFormat(command, takeValue());
  else if (word === 'CSV' || word === 'PARQUET') setFormat(command, word);
  else if (word === 'IGNOREHEADER') command.ignoreHeader = Number(takeValue());
  else if (word === 'DELIMITER') command.delimiter = takeValue();
  else if (word === 'QUOTE') command.quote = takeValue();
  else if (word === 'NULL') command.nullAs = takeValue();
  else if (word === 'REGION') command.region = takeValue();
  else if (word === 'GZIP') command.gzip = true;
  else if (word === 'MANIFEST') command.manifest = true;
  else if (word === 'FILLRECORD') command.fillRecord = true;
  else
    throw new Error(
      `COPY option ${word} is not supported by the local gateway (devstack/gateway/redshift-copy-options.ts)`,
    );
}

function setFormat(command: CopyCommand, format: string): void {
  const upper = format.toUpperCase();
  if (upper !== 'CSV' && upper !== 'PARQUET') {
    throw new Error(`the local gateway loads COPY ... FORMAT AS PARQUET or CSV only, got ${format}`);
  }
  command.format = upper;
}

/** A columnar COPY takes only the parameters Redshift lists for it; the first sentence is Redshift's. */
function checkColumnar(command: CopyCommand, seen: Map<string, unknown>): void {
  if (command.format !== 'PARQUET') return;
  for (const option of seen.keys()) {
    if (option === 'FORMAT' || option === 'PARQUET' || COLUMNAR_OPTIONS.has(option)) continue;
    throw new Error(
      `${option} argument is not supported for PARQUET based COPY (a COPY of Parquet takes FROM, IAM_ROLE or ` +
        `CREDENTIALS, MANIFEST, FILLRECORD, ACCEPTINVCHARS, STATUPDATE, EXPLICIT_IDS and SERIALIZETOJSON only` +
        (option === 'REGION' ? "; the bucket must be in the database's region" : '') +
        ')',
    );
  }
}
