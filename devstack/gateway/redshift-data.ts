/**
 * The Redshift Data API (`X-Amz-Target: RedshiftData.<Op>`), served whole by the gateway: the SQL
 * really runs, asynchronously, on an embedded Postgres per cluster or workgroup and database.
 * Statement records live in memory; the databases persist (redshift-databases.ts).
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { StatusString } from '@aws-sdk/client-redshift-data';
import { AwsError, epochSeconds } from './aws-protocol';
import type { DatabaseTarget, RedshiftDatabases } from './redshift-databases';
import { checkDataApiWorkgroupName, type RedshiftTargets } from './redshift-targets';
import { bindParameters, type SqlParameter, type StatementResult } from './redshift-sql';
import type { BoundSql, CommitMode } from './redshift-worker';
import type { AwsJsonCall, JsonService } from './router';

/** A statement's (or sub-statement's) status; `ALL` is only a ListStatements filter. */
type StatementStatus = Exclude<StatusString, 'ALL'>;

/** Whether a statement in this status is still to finish (and can be cancelled). */
const STATEMENT_ACTIVE = {
  SUBMITTED: true,
  PICKED: true,
  STARTED: true,
  FINISHED: false,
  FAILED: false,
  ABORTED: false,
} as const satisfies Record<StatementStatus, boolean>;

export interface RedshiftDataOptions {
  /** Rows per GetStatementResult page. Redshift pages by size (100 MB); rows are easier to exercise. @default 1000 */
  resultPageRows?: number;
}

/** BatchExecuteStatement's most Sqls (the API model's SqlList: min 1, max 40). */
export const MAX_BATCH_STATEMENTS = 40;

/**
 * The most bytes of one SQL statement the Data API accepts, in ExecuteStatement's Sql and each of
 * BatchExecuteStatement's Sqls ("Cannot process query string larger than 100kB").
 */
export const MAX_STATEMENT_BYTES = 100 * 1024;

/** The Data API's statement Id: a lower-case UUID, with `:n` naming a batch's nth statement. */
const STATEMENT_ID = /^[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\d+)?$/;

interface SubStatement {
  sql: string;
  status: StatementStatus;
  error?: string;
  createdAt: number;
  updatedAt: number;
  startedAt?: number;
  result?: StatementResult;
  /** Rows returned or affected; -1 when the statement has neither. */
  resultRows: number;
  redshiftQueryId: number;
}

interface Statement {
  id: string;
  target: DatabaseTarget;
  dbUser?: string;
  secretArn?: string;
  statementName?: string;
  parameters?: SqlParameter[];
  isBatch: boolean;
  mode: CommitMode;
  subs: SubStatement[];
  status: StatementStatus;
  error?: string;
  createdAt: number;
  updatedAt: number;
  startedAt?: number;
  redshiftPid: number;
  /** Asks the database worker to roll the submission back, while it is queued or running. */
  cancel?: () => void;
}

/**
 * Refuses what the Data API refuses before it runs anything: more than 40 Sqls (the model's length
 * constraint, worded as AWS words constraint violations) and any statement over 100 KB.
 */
function checkLimits(sqls: string[], isBatch: boolean): void {
  if (isBatch && sqls.length > MAX_BATCH_STATEMENTS) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value at 'sqls' failed to satisfy constraint: ` +
        `Member must have length less than or equal to ${MAX_BATCH_STATEMENTS}`,
    );
  }
  if (sqls.some((sql) => Buffer.byteLength(sql, 'utf8') > MAX_STATEMENT_BYTES)) {
    throw new AwsError('ValidationException', 'Cannot process query string larger than 100kB');
  }
}

/** How a submission commits: BatchExecuteStatement's ExecutionMode (TRANSACTION unless AUTO_COMMIT). */
function commitMode(input: Record<string, unknown>, isBatch: boolean): CommitMode {
  if (!isBatch) return 'single';
  const mode = input.ExecutionMode ?? 'TRANSACTION';
  if (mode === 'TRANSACTION') return 'transaction';
  if (mode === 'AUTO_COMMIT') return 'auto-commit';
  throw new AwsError(
    'ValidationException',
    `1 validation error detected: Value '${String(mode)}' at 'executionMode' failed to satisfy constraint: ` +
      'Member must satisfy enum value set: [AUTO_COMMIT, TRANSACTION]',
  );
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export class RedshiftData implements JsonService {
  private readonly statements = new Map<string, Statement>();
  private readonly clientTokens = new Map<string, string>();
  private queryIds = 0;

  private readonly resultPageRows: number;

  constructor(
    private readonly databases: RedshiftDatabases,
    /** The workgroups and clusters that exist: a statement naming any other fails, as on AWS. */
    private readonly targets: Pick<RedshiftTargets, 'exists'>,
    options: RedshiftDataOptions = {},
  ) {
    this.resultPageRows = options.resultPageRows ?? 1000;
  }

  serves(): boolean {
    return true; // moto's Redshift Data is unusable from the JS SDK: the gateway serves all of it
  }

  resourceOf({ region, input }: AwsJsonCall): string | undefined {
    const direct = str(input.ClusterIdentifier) ?? str(input.WorkgroupName);
    if (direct) return direct;
    const statement = this.statements.get(`${region}/${String(input.Id).split(':')[0]}`);
    return statement?.target.clusterIdentifier ?? statement?.target.workgroupName;
  }

  async handle({ region, operation, input }: AwsJsonCall): Promise<unknown> {
    switch (operation) {
      case 'ExecuteStatement':
        return await this.submit(region, input, [String(input.Sql ?? '')], false);
      case 'BatchExecuteStatement':
        return await this.submit(region, input, Array.isArray(input.Sqls) ? (input.Sqls as string[]) : [], true);
      case 'DescribeStatement':
        return this.describe(region, input);
      case 'GetStatementResult':
        return this.result(region, input);
      case 'CancelStatement':
        return this.cancel(region, input);
      case 'ListStatements':
        return this.list(region, input);
      default:
        throw new AwsError('ValidationException', `the local gateway does not serve RedshiftData.${operation}`);
    }
  }

  private async submit(region: string, input: Record<string, unknown>, sqls: string[], isBatch: boolean) {
    const clusterIdentifier = str(input.ClusterIdentifier);
    const workgroupName = str(input.WorkgroupName);
    const database = str(input.Database);
    if (!database) {
      throw new AwsError('ValidationException', 'Database is required: the name of the database to run in.');
    }
    if (!clusterIdentifier === !workgroupName) {
      throw new AwsError(
        'ValidationException',
        'Either ClusterIdentifier (a provisioned cluster) or WorkgroupName (Redshift Serverless) is required, not both.',
      );
    }
    if (workgroupName) checkDataApiWorkgroupName(workgroupName);
    if (sqls.length === 0 || sqls.some((sql) => typeof sql !== 'string' || sql.trim() === '')) {
      throw new AwsError('ValidationException', `${isBatch ? 'Sqls' : 'Sql'} must hold SQL text.`);
    }
    checkLimits(sqls, isBatch);
    const mode = commitMode(input, isBatch);
    const parameters = Array.isArray(input.Parameters) ? (input.Parameters as SqlParameter[]) : undefined;
    // Checked now, as the Data API does, rather than failing the statement later.
    const bound = sqls.map((sql) => ({ sql, ...bindParameters(sql, parameters) }));
    if (!(await this.targets.exists(region, { clusterIdentifier, workgroupName }))) {
      // The Data API's answer for a cluster or workgroup that is not in the request's region.
      throw new AwsError('ValidationException', "Redshift endpoint doesn't exist in this region.");
    }
    const token = str(input.ClientToken);
    const existing = token && this.statements.get(`${region}/${this.clientTokens.get(`${region}/${token}`)}`);
    const statement =
      existing || this.create(region, input, { clusterIdentifier, workgroupName, database }, sqls, isBatch, mode);
    if (!existing) {
      if (token) this.clientTokens.set(`${region}/${token}`, statement.id);
      setImmediate(() => void this.run(statement, bound));
    }
    return {
      Id: statement.id,
      ClusterIdentifier: statement.target.clusterIdentifier,
      WorkgroupName: statement.target.workgroupName,
      Database: statement.target.database,
      DbUser: statement.dbUser,
      SecretArn: statement.secretArn,
      CreatedAt: epochSeconds(statement.createdAt),
    };
  }

  private create(
    region: string,
    input: Record<string, unknown>,
    target: Omit<DatabaseTarget, 'region'>,
    sqls: string[],
    isBatch: boolean,
    mode: CommitMode,
  ): Statement {
    const now = Date.now();
    const statement: Statement = {
      id: randomUUID(),
      target: { region, ...target },
      dbUser: str(input.DbUser),
      secretArn: str(input.SecretArn),
      statementName: str(input.StatementName),
      parameters: Array.isArray(input.Parameters) ? (input.Parameters as SqlParameter[]) : undefined,
      isBatch,
      mode,
      subs: sqls.map((sql) => ({
        sql,
        status: 'SUBMITTED',
        createdAt: now,
        updatedAt: now,
        resultRows: -1,
        redshiftQueryId: 0,
      })),
      status: 'SUBMITTED',
      createdAt: now,
      updatedAt: now,
      redshiftPid: randomInt(1_000_000, 2_000_000_000),
    };
    this.statements.set(`${region}/${statement.id}`, statement);
    return statement;
  }

  private setStatus(statement: Statement, status: StatementStatus, error?: string): void {
    // A cancelled statement stays ABORTED whatever its SQL did meanwhile.
    if (statement.status === 'ABORTED') return;
    statement.status = status;
    statement.updatedAt = Date.now();
    if (error !== undefined) statement.error = error;
  }

  private setSubStatus(sub: SubStatement, status: StatementStatus, error?: string): void {
    sub.status = status;
    sub.updatedAt = Date.now();
    if (error !== undefined) sub.error = error;
  }

  /**
   * Runs a submission in the database's worker: in one transaction, where any failure rolls all back,
   * or (AUTO_COMMIT) each statement on its own.
   */
  private async run(statement: Statement, bound: BoundSql[]): Promise<void> {
    this.setStatus(statement, 'PICKED');
    const { done, cancel } = this.databases.run(statement.target, bound, statement.mode, (progress) => {
      const sub = statement.subs[progress.index]!;
      if (progress.type === 'failed') {
        this.setSubStatus(sub, 'FAILED', progress.error);
      } else if (progress.type === 'started') {
        if (progress.index === 0) {
          this.setStatus(statement, 'STARTED');
          statement.startedAt = Date.now();
        }
        sub.redshiftQueryId = ++this.queryIds;
        sub.startedAt = Date.now();
        this.setSubStatus(sub, 'STARTED');
      } else {
        sub.result = progress.result;
        sub.resultRows = progress.resultRows;
        this.setSubStatus(sub, 'FINISHED');
      }
    });
    statement.cancel = cancel;
    const outcome = await done;
    statement.cancel = undefined;
    if (outcome.status === 'FAILED') {
      const failed = outcome.failedIndex === undefined ? undefined : statement.subs[outcome.failedIndex];
      if (failed) this.setSubStatus(failed, 'FAILED', outcome.error);
      this.setStatus(statement, 'FAILED', outcome.error);
    } else {
      this.setStatus(statement, outcome.status);
    }
    // Statements of a batch after a failure (or a cancel) never ran.
    for (const sub of statement.subs) if (STATEMENT_ACTIVE[sub.status]) this.setSubStatus(sub, 'ABORTED');
  }

  private find(region: string, id: unknown): { statement: Statement; sub?: SubStatement; subIndex?: number } {
    if (typeof id !== 'string' || !STATEMENT_ID.test(id)) {
      throw new AwsError(
        'ValidationException',
        `Id ${JSON.stringify(id)} is not a statement Id (a UUID, :n for a batch's nth).`,
      );
    }
    const [base, suffix] = id.split(':');
    const statement = this.statements.get(`${region}/${base}`);
    // Redshift answers a well-formed Id it does not know with ResourceNotFoundException.
    if (!statement) throw new AwsError('ResourceNotFoundException', `Query does not exist: ${id}`);
    if (suffix === undefined) return { statement };
    const subIndex = Number(suffix) - 1;
    const sub = statement.isBatch ? statement.subs[subIndex] : undefined;
    if (!sub) throw new AwsError('ResourceNotFoundException', `Query does not exist: ${id}`);
    return { statement, sub, subIndex };
  }

  /** Duration in nanoseconds, as the Data API reports it; -1 until a statement has finished. */
  private duration(status: StatementStatus, startedAt: number | undefined, updatedAt: number): number {
    return status === 'FINISHED' && startedAt !== undefined ? (updatedAt - startedAt) * 1_000_000 : -1;
  }

  private resultSize(sub: SubStatement): number {
    return sub.result ? Buffer.byteLength(JSON.stringify(sub.result.records)) : -1;
  }

  private describe(region: string, input: Record<string, unknown>) {
    const { statement, sub } = this.find(region, input.Id);
    const only = statement.isBatch ? undefined : statement.subs[0]!;
    const shown = sub ?? only;
    // A single statement's status is its transaction's: its SQL has run before the commit has.
    const progress = sub ?? statement;
    return {
      Id: String(input.Id),
      ClusterIdentifier: statement.target.clusterIdentifier,
      WorkgroupName: statement.target.workgroupName,
      Database: statement.target.database,
      DbUser: statement.dbUser,
      SecretArn: statement.secretArn,
      Status: progress.status,
      Error: progress.error,
      CreatedAt: epochSeconds(statement.createdAt),
      UpdatedAt: epochSeconds(progress.updatedAt),
      Duration: this.duration(progress.status, progress.startedAt, progress.updatedAt),
      RedshiftPid: statement.redshiftPid,
      RedshiftQueryId: shown?.redshiftQueryId ?? 0,
      QueryString: shown?.sql,
      QueryParameters: statement.parameters,
      HasResultSet: shown ? shown.result !== undefined : statement.subs.some((s) => s.result !== undefined),
      ResultRows: shown ? shown.resultRows : statement.subs.reduce((n, s) => n + Math.max(s.resultRows, 0), 0),
      ResultSize: shown ? this.resultSize(shown) : -1,
      SubStatements:
        statement.isBatch && !sub
          ? statement.subs.map((s, i) => ({
              Id: `${statement.id}:${i + 1}`,
              Status: s.status,
              Error: s.error,
              CreatedAt: epochSeconds(s.createdAt),
              UpdatedAt: epochSeconds(s.updatedAt),
              Duration: this.duration(s.status, s.startedAt, s.updatedAt),
              QueryString: s.sql,
              RedshiftQueryId: s.redshiftQueryId,
              HasResultSet: s.result !== undefined,
              ResultRows: s.resultRows,
              ResultSize: this.resultSize(s),
            }))
          : undefined,
    };
  }

  private result(region: string, input: Record<string, unknown>) {
    const { statement, sub } = this.find(region, input.Id);
    if (statement.isBatch && !sub) {
      throw new AwsError(
        'ValidationException',
        `${statement.id} is a batch: ask for one statement's result, as ${statement.id}:1.`,
      );
    }
    const shown = sub ?? statement.subs[0]!;
    if ((sub ?? statement).status !== 'FINISHED' || !shown.result) {
      throw new AwsError(
        'ResourceNotFoundException',
        'Query does not have result. Please check query status with DescribeStatement.',
      );
    }
    const offset = str(input.NextToken) ? Number(input.NextToken) : 0;
    const records = shown.result.records.slice(offset, offset + this.resultPageRows);
    const next =
      offset + this.resultPageRows < shown.result.records.length ? String(offset + this.resultPageRows) : undefined;
    return {
      Records: records,
      ColumnMetadata: shown.result.columnMetadata,
      TotalNumRows: shown.result.records.length,
      NextToken: next,
    };
  }

  private cancel(region: string, input: Record<string, unknown>) {
    const { statement } = this.find(region, input.Id);
    if (!STATEMENT_ACTIVE[statement.status]) {
      throw new AwsError(
        'ValidationException',
        `Could not cancel a query that is already in ${statement.status} state.`,
      );
    }
    this.setStatus(statement, 'ABORTED');
    statement.cancel?.();
    return { Status: true };
  }

  private list(region: string, input: Record<string, unknown>) {
    const status = str(input.Status) ?? 'ALL';
    const name = str(input.StatementName);
    const maxResults = Number(input.MaxResults ?? 100);
    const offset = str(input.NextToken) ? Number(input.NextToken) : 0;
    const matching = [...this.statements.values()]
      .filter(
        (s) =>
          s.target.region === region &&
          (status === 'ALL' || s.status === status) &&
          (!name || s.statementName?.startsWith(name)) &&
          (!str(input.ClusterIdentifier) || s.target.clusterIdentifier === input.ClusterIdentifier) &&
          (!str(input.WorkgroupName) || s.target.workgroupName === input.WorkgroupName) &&
          (!str(input.Database) || s.target.database === input.Database),
      )
      .sort((a, b) => b.createdAt - a.createdAt);
    return {
      Statements: matching.slice(offset, offset + maxResults).map((s) => ({
        Id: s.id,
        Status: s.status,
        StatementName: s.statementName,
        IsBatchStatement: s.isBatch,
        QueryString: s.isBatch ? undefined : s.subs[0]!.sql,
        QueryStrings: s.isBatch ? s.subs.map((sub) => sub.sql) : undefined,
        QueryParameters: s.parameters,
        SecretArn: s.secretArn,
        CreatedAt: epochSeconds(s.createdAt),
        UpdatedAt: epochSeconds(s.updatedAt),
      })),
      NextToken: offset + maxResults < matching.length ? String(offset + maxResults) : undefined,
    };
  }
}
