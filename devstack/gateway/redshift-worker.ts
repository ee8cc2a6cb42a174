/**
 * The Redshift databases, in a worker thread: PGlite runs SQL synchronously in WebAssembly, so on
 * the gateway's main thread a long statement (or a big COPY) would stall every S3 and Glue request,
 * and even the DescribeStatement and CancelStatement calls about it.
 *
 * One thread holds every database: each PGlite runtime costs a few hundred MB, and a thread per
 * database would load the runtime once per thread. The main thread (redshift-databases.ts) sends
 * submissions; each runs as its CommitMode says, after those before it on the same database, and every
 * sub-statement's start and end is reported back. A database unused for a while is closed, to give
 * its memory back; the next statement opens it again. A database submitted to with `keepOpen` (the stack's own
 * targets, warmed at its start: opening one takes seconds) stays open until the gateway stops.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { Moto } from './moto';
import { parseCopy, runCopy, type CopyReader } from './redshift-copy';
import {
  commitsTransaction,
  RAW_TEXT_PARSERS,
  refusedInTransactionBlock,
  toStatementResult,
  type StatementResult,
} from './redshift-sql';
import { bucketRegion } from './s3-regions';

/** What the worker is started with. */
export interface WorkerInit {
  /** moto, for the S3 objects a COPY reads. */
  motoUrl: string;
  /** How long a database may sit unused before it is closed. */
  idleCloseMs: number;
}

/** Where a submission runs. */
export interface DatabaseLocation {
  /** The database's folder. */
  dataDir: string;
  /** The cluster's region: where a COPY reads unless it names a REGION. */
  region: string;
}

/** One SQL statement of a submission, with its `:name` parameters already bound to `$n`. */
export interface BoundSql {
  sql: string;
  text: string;
  values: string[];
}

/**
 * How a submission's statements commit: `single` is ExecuteStatement's one statement, committed on its own;
 * `transaction` is BatchExecuteStatement's default, every statement in one transaction block (BEGIN ... END),
 * which a TRUNCATE commits as on Redshift; `auto-commit` is its ExecutionMode AUTO_COMMIT, each statement
 * committed on its own. Outside a transaction block (`single`, `auto-commit`) VACUUM and the like run.
 */
export type CommitMode = 'single' | 'transaction' | 'auto-commit';

export type ToWorker =
  | {
      type: 'run';
      runId: number;
      database: DatabaseLocation;
      statements: BoundSql[];
      mode: CommitMode;
      /** Never close this database for idleness from now on. */
      keepOpen?: boolean;
    }
  | { type: 'cancel'; runId: number }
  | { type: 'close' };

/** How a submission ended. */
export type RunOutcome =
  { status: 'FINISHED' } | { status: 'ABORTED' } | { status: 'FAILED'; error: string; failedIndex?: number };

export type FromWorker =
  | { type: 'started'; runId: number; index: number }
  | { type: 'finished'; runId: number; index: number; result?: StatementResult; resultRows: number }
  /** One statement of an auto-commit submission failed; the others still run. */
  | { type: 'failed'; runId: number; index: number; error: string }
  | { type: 'done'; runId: number; outcome: RunOutcome }
  | { type: 'closed' };

/** Thrown inside a submission's transaction when it was cancelled, so Postgres rolls it back. */
class StatementAborted extends Error {}

interface OpenDatabase {
  db: Promise<PGlite>;
  /** Submissions run one after another, as on one Redshift connection. */
  queue: Promise<void>;
  pending: number;
  idleTimer?: NodeJS.Timeout;
  /** Kept open until the gateway stops (warmed): never closed for idleness. */
  keep?: boolean;
}

function startWorker(init: WorkerInit) {
  const port = parentPort!;
  const post = (message: FromWorker) => port.postMessage(message);
  const moto = new Moto(new URL(init.motoUrl));
  const databases = new Map<string, OpenDatabase>();
  /** Databases being closed for idleness: reopening one waits, so two PGlites never share a folder. */
  const closing = new Map<string, Promise<void>>();
  const cancelled = new Set<number>();

  function database(dataDir: string): OpenDatabase {
    let open = databases.get(dataDir);
    if (!open) {
      const closed = closing.get(dataDir) ?? Promise.resolve();
      open = { db: closed.then(() => PGlite.create(dataDir)), queue: Promise.resolve(), pending: 0 };
      // A database that failed to open is forgotten: the next submission tries again.
      open.db.catch(() => databases.delete(dataDir));
      databases.set(dataDir, open);
    }
    clearTimeout(open.idleTimer);
    return open;
  }

  function closeWhenIdle(dataDir: string, open: OpenDatabase): void {
    if (open.pending > 0 || open.keep) return;
    open.idleTimer = setTimeout(() => {
      databases.delete(dataDir);
      const closed = open.db.then((db) => db.close()).catch(() => undefined);
      closing.set(dataDir, closed);
      void closed.then(() => closing.get(dataDir) === closed && closing.delete(dataDir));
    }, init.idleCloseMs);
  }

  /** Throws when the run was cancelled; yields first, so a cancel sent while a statement ran has arrived. */
  async function checkCancelled(runId: number): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (cancelled.has(runId)) throw new StatementAborted();
  }

  /** Where a COPY reads: its REGION or the database's region, each bucket's region looked up once per COPY. */
  function copyReader(readRegion: string): CopyReader {
    const regions = new Map<string, Promise<string | undefined>>();
    const regionOf = (bucket: string) => {
      if (!regions.has(bucket)) regions.set(bucket, bucketRegion(moto, bucket));
      return regions.get(bucket)!;
    };
    return { s3: moto.s3(readRegion), region: readRegion, regionOf };
  }

  /** Runs one statement in `tx`, or with no transaction block on `db` (only what Redshift runs outside one). */
  async function runOne(tx: Transaction | PGlite, statement: BoundSql, region: string) {
    const copy = parseCopy(statement.sql);
    if (copy) return { resultRows: await runCopy(tx as Transaction, copy, copyReader(copy.region ?? region)) };
    const result = await tx.query<unknown[]>(statement.text, statement.values, {
      rowMode: 'array',
      parsers: RAW_TEXT_PARSERS,
    });
    if (result.fields.length > 0) return { result: toStatementResult(result), resultRows: result.rows.length };
    return { resultRows: result.affectedRows ?? -1 };
  }

  /** Redshift reports Postgres's message with its severity, e.g. `ERROR: relation "x" does not exist`. */
  const errorText = (err: unknown) => `ERROR: ${err instanceof Error ? err.message : String(err)}`;

  /** Runs statement `i` in `tx`, reporting its start and end; refuses what Redshift refuses in a transaction block. */
  async function step(runId: number, tx: Transaction, i: number, statement: BoundSql, region: string, block: boolean) {
    post({ type: 'started', runId, index: i });
    const refused = block ? refusedInTransactionBlock(statement.sql) : undefined;
    if (refused) throw new Error(`${refused} cannot run inside a transaction block`);
    post({ type: 'finished', runId, index: i, ...(await runOne(tx, statement, region)) });
  }

  /**
   * One statement committed on its own (ExecuteStatement, or a statement of an AUTO_COMMIT batch): in a
   * transaction, except what Postgres, like Redshift, runs only outside a transaction block (VACUUM and the like).
   * With `rollBackOnCancel`, a cancel that came while the statement ran rolls it back.
   */
  async function runAlone(
    runId: number,
    db: PGlite,
    i: number,
    statement: BoundSql,
    region: string,
    rollBackOnCancel = false,
  ) {
    if (!refusedInTransactionBlock(statement.sql)) {
      await db.transaction(async (tx) => {
        await step(runId, tx, i, statement, region, false);
        if (rollBackOnCancel) await checkCancelled(runId);
      });
      return;
    }
    post({ type: 'started', runId, index: i });
    post({ type: 'finished', runId, index: i, ...(await runOne(db, statement, region)) });
  }

  /**
   * A batch's transaction block. A TRUNCATE commits it, as on Redshift: the statements before it and the
   * TRUNCATE stay committed, and the statements after it run in a new transaction, rolled back alone if one fails.
   */
  async function runTransaction(
    runId: number,
    db: PGlite,
    region: string,
    statements: BoundSql[],
    at: { index?: number },
  ) {
    let next = 0;
    while (next < statements.length) {
      await db.transaction(async (tx) => {
        for (const [i, statement] of statements.entries()) {
          if (i < next) continue;
          await checkCancelled(runId);
          at.index = i;
          await step(runId, tx, i, statement, region, true);
          next = i + 1;
          if (commitsTransaction(statement.sql)) return;
        }
        await checkCancelled(runId);
      });
    }
  }

  /** AUTO_COMMIT: each statement in a transaction of its own; a failed one does not stop or undo the others. */
  async function runAutoCommit(runId: number, db: PGlite, region: string, statements: BoundSql[]) {
    let firstFailure: { error: string; failedIndex: number } | undefined;
    for (const [i, statement] of statements.entries()) {
      await checkCancelled(runId);
      try {
        await runAlone(runId, db, i, statement, region);
      } catch (err) {
        const error = errorText(err);
        post({ type: 'failed', runId, index: i, error });
        firstFailure ??= { error, failedIndex: i };
      }
    }
    return firstFailure;
  }

  async function run(
    runId: number,
    db: PGlite,
    region: string,
    statements: BoundSql[],
    mode: CommitMode,
  ): Promise<RunOutcome> {
    const at: { index?: number } = {};
    try {
      if (mode === 'auto-commit') {
        const failure = await runAutoCommit(runId, db, region, statements);
        return failure ? { status: 'FAILED', ...failure } : { status: 'FINISHED' };
      }
      if (mode === 'single') {
        await checkCancelled(runId);
        at.index = 0;
        await runAlone(runId, db, 0, statements[0]!, region, true);
      } else {
        await runTransaction(runId, db, region, statements, at);
      }
      return { status: 'FINISHED' };
    } catch (err) {
      if (err instanceof StatementAborted) return { status: 'ABORTED' };
      return { status: 'FAILED', error: errorText(err), failedIndex: at.index };
    } finally {
      cancelled.delete(runId);
      // Without a SessionId every Data API call is a session of its own on Redshift, so its temporary
      // tables end with it; on the one PGlite connection they would outlive it and clash with the next call's.
      await db.exec('discard temp').catch(() => undefined);
    }
  }

  function submit({ runId, database: location, statements, mode, keepOpen }: Extract<ToWorker, { type: 'run' }>): void {
    const open = database(location.dataDir);
    if (keepOpen) open.keep = true;
    open.pending += 1;
    open.queue = open.queue.then(async () => {
      let outcome: RunOutcome;
      try {
        outcome = await run(runId, await open.db, location.region, statements, mode);
      } catch (err) {
        outcome = { status: 'FAILED', error: `ERROR: could not open the database: ${String(err)}` };
      }
      post({ type: 'done', runId, outcome });
      open.pending -= 1;
      closeWhenIdle(location.dataDir, open);
    });
  }

  async function closeAll(): Promise<void> {
    await Promise.all(closing.values());
    await Promise.all(
      [...databases.values()].map(async (open) => {
        clearTimeout(open.idleTimer);
        await open.queue;
        await (await open.db.catch(() => undefined))?.close();
      }),
    );
    post({ type: 'closed' });
    port.close();
  }

  port.on('message', (message: ToWorker) => {
    if (message.type === 'cancel') cancelled.add(message.runId);
    else if (message.type === 'run') submit(message);
    else void closeAll();
  });
}

if (parentPort && (workerData as { redshiftWorker?: WorkerInit } | undefined)?.redshiftWorker) {
  startWorker((workerData as { redshiftWorker: WorkerInit }).redshiftWorker);
}
