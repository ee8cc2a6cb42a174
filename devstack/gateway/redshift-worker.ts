/**
 * One Redshift database, in a worker thread of its own: PGlite runs SQL synchronously in
 * WebAssembly, so on the gateway's main thread a long statement (or a big COPY) would stall every
 * S3 and Glue request, and even the DescribeStatement and CancelStatement calls about it.
 *
 * The main thread (redshift-databases.ts) sends submissions; this thread runs each in one
 * transaction, one after another, and reports every sub-statement's start and end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { Moto } from './moto';
import { parseCopy, runCopy } from './redshift-copy';
import { RAW_TEXT_PARSERS, toStatementResult, type StatementResult } from './redshift-sql';

/** What the worker is started with. */
export interface WorkerInit {
  /** The database's folder. */
  dataDir: string;
  /** moto, for the S3 objects a COPY reads. */
  motoUrl: string;
  /** The cluster's region: where a COPY reads unless it names a REGION. */
  region: string;
}

/** One SQL statement of a submission, with its `:name` parameters already bound to `$n`. */
export interface BoundSql {
  sql: string;
  text: string;
  values: string[];
}

export type ToWorker =
  { type: 'run'; runId: number; statements: BoundSql[] } | { type: 'cancel'; runId: number } | { type: 'close' };

/** How a submission ended. */
export type RunOutcome =
  { status: 'FINISHED' } | { status: 'ABORTED' } | { status: 'FAILED'; error: string; failedIndex?: number };

export type FromWorker =
  | { type: 'started'; runId: number; index: number }
  | { type: 'finished'; runId: number; index: number; result?: StatementResult; resultRows: number }
  | { type: 'done'; runId: number; outcome: RunOutcome }
  | { type: 'closed' };

/** Thrown inside a submission's transaction when it was cancelled, so Postgres rolls it back. */
class StatementAborted extends Error {}

function startWorker(init: WorkerInit) {
  const port = parentPort!;
  const post = (message: FromWorker) => port.postMessage(message);
  const moto = new Moto(new URL(init.motoUrl));
  const opened = PGlite.create(init.dataDir);
  const cancelled = new Set<number>();
  // Submissions run one after another, as statements on one Redshift connection would.
  let queue: Promise<void> = Promise.resolve();

  async function runOne(
    tx: Transaction,
    statement: BoundSql,
  ): Promise<{ result?: StatementResult; resultRows: number }> {
    const copy = parseCopy(statement.sql);
    if (copy) return { resultRows: await runCopy(tx, copy, moto.s3(copy.region ?? init.region)) };
    const result = await tx.query<unknown[]>(statement.text, statement.values, {
      rowMode: 'array',
      parsers: RAW_TEXT_PARSERS,
    });
    if (result.fields.length > 0) return { result: toStatementResult(result), resultRows: result.rows.length };
    return { resultRows: result.affectedRows ?? -1 };
  }

  /** Throws when the run was cancelled; yields first, so a cancel sent while a statement ran has arrived. */
  async function checkCancelled(runId: number): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (cancelled.has(runId)) throw new StatementAborted();
  }

  async function run(runId: number, statements: BoundSql[]): Promise<RunOutcome> {
    let index: number | undefined;
    try {
      const db = await opened;
      await db.transaction(async (tx) => {
        for (const [i, statement] of statements.entries()) {
          await checkCancelled(runId);
          index = i;
          post({ type: 'started', runId, index: i });
          post({ type: 'finished', runId, index: i, ...(await runOne(tx, statement)) });
        }
        await checkCancelled(runId);
      });
      return { status: 'FINISHED' };
    } catch (err) {
      if (err instanceof StatementAborted) return { status: 'ABORTED' };
      // Redshift reports Postgres's message with its severity, e.g. `ERROR: relation "x" does not exist`.
      return {
        status: 'FAILED',
        error: `ERROR: ${err instanceof Error ? err.message : String(err)}`,
        failedIndex: index,
      };
    } finally {
      cancelled.delete(runId);
    }
  }

  port.on('message', (message: ToWorker) => {
    if (message.type === 'cancel') cancelled.add(message.runId);
    else if (message.type === 'run') {
      const { runId, statements } = message;
      queue = queue.then(async () => post({ type: 'done', runId, outcome: await run(runId, statements) }));
    } else {
      queue = queue.then(async () => {
        await (await opened.catch(() => undefined))?.close();
        post({ type: 'closed' });
        port.close();
      });
    }
  });
}

if (parentPort && (workerData as { redshiftWorker?: WorkerInit } | undefined)?.redshiftWorker) {
  startWorker((workerData as { redshiftWorker: WorkerInit }).redshiftWorker);
}
