/**
 * The embedded Postgres (PGlite) databases behind the Redshift Data API: one per region, cluster
 * or workgroup, and database name, each in its own folder under the gateway's data directory (so
 * tables outlive a restart of the stack), all run by one worker thread (redshift-worker.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BoundSql, CommitMode, FromWorker, RunOutcome, ToWorker, WorkerInit } from './redshift-worker';

/** Which database a statement runs in. */
export interface DatabaseTarget {
  region: string;
  clusterIdentifier?: string;
  workgroupName?: string;
  database: string;
}

/** Progress of one submission, as the worker reports it. */
export type RunProgress = Extract<FromWorker, { type: 'started' | 'finished' | 'failed' }>;

interface PendingRun {
  onProgress: (progress: RunProgress) => void;
  resolve: (outcome: RunOutcome) => void;
}

/** The worker thread and the submissions it has not answered yet. */
class DatabaseWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, PendingRun>();
  private exited = false;
  readonly closed: Promise<void>;

  constructor(init: WorkerInit, onExit: () => void) {
    // The worker loads TypeScript through tsx's require hook: a worker thread does not get the
    // `--import tsx` loader of the gateway's own process.
    const entry = path.join(__dirname, 'redshift-worker.ts');
    this.worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, {
      eval: true,
      workerData: { redshiftWorker: init },
    });
    this.worker.on('message', (message: FromWorker) => this.receive(message));
    this.worker.on('error', (err) => console.error('gateway: the Redshift worker failed:', err));
    this.closed = new Promise((resolve) =>
      this.worker.once('exit', () => {
        this.exited = true;
        for (const run of this.pending.values()) {
          run.resolve({ status: 'FAILED', error: 'ERROR: the database worker exited' });
        }
        this.pending.clear();
        onExit();
        resolve();
      }),
    );
  }

  private receive(message: FromWorker): void {
    if (message.type === 'closed') return;
    const run = this.pending.get(message.runId);
    if (!run) return;
    if (message.type === 'done') {
      this.pending.delete(message.runId);
      run.resolve(message.outcome);
    } else run.onProgress(message);
  }

  send(message: ToWorker): void {
    if (!this.exited) this.worker.postMessage(message);
  }

  /** Resolves with how a submission ended; never rejects. */
  submit(runId: number, onProgress: (progress: RunProgress) => void): Promise<RunOutcome> {
    return new Promise((resolve) => {
      if (this.exited) return resolve({ status: 'FAILED', error: 'ERROR: the database worker exited' });
      this.pending.set(runId, { onProgress, resolve });
    });
  }

  /** Lets the worker finish what it runs, close every database cleanly, and exit. */
  async close(): Promise<void> {
    this.send({ type: 'close' });
    await this.closed;
  }
}

export interface RedshiftDatabasesOptions {
  /** Where the databases live: `<dataDir>/<region>/<cluster-x|workgroup-x>/<database>`. */
  dataDir: string;
  /** moto, for the objects a COPY reads. */
  motoUrl: URL;
  /** How long a database may sit unused before it is closed to free its memory. @default 60_000 */
  idleCloseMs?: number;
}

export class RedshiftDatabases {
  private worker?: DatabaseWorker;
  private nextRunId = 0;

  constructor(private readonly options: RedshiftDatabasesOptions) {}

  /** The worker, started on first use; one that died is replaced by the next submission. */
  private startedWorker(): DatabaseWorker {
    if (this.worker) return this.worker;
    const worker = new DatabaseWorker(
      { motoUrl: this.options.motoUrl.href, idleCloseMs: this.options.idleCloseMs ?? 60_000 },
      () => {
        if (this.worker === worker) this.worker = undefined;
      },
    );
    return (this.worker = worker);
  }

  private folder(target: DatabaseTarget): string {
    const owner = target.clusterIdentifier
      ? `cluster-${target.clusterIdentifier}`
      : `workgroup-${target.workgroupName}`;
    return path.join(
      this.options.dataDir,
      ...[target.region, owner, target.database].map((p) => encodeURIComponent(p)),
    );
  }

  /**
   * Runs statements, after those submitted before to the same database: in one transaction, or each
   * in its own (`auto-commit`). `done` never rejects; `cancel` rolls the statement running back and
   * stops at the next statement boundary.
   */
  run(
    target: DatabaseTarget,
    statements: BoundSql[],
    mode: CommitMode,
    onProgress: (progress: RunProgress) => void,
    keepOpen = false,
  ): { done: Promise<RunOutcome>; cancel: () => void } {
    const dataDir = this.folder(target);
    fs.mkdirSync(dataDir, { recursive: true });
    const worker = this.startedWorker();
    const runId = ++this.nextRunId;
    const done = worker.submit(runId, onProgress);
    worker.send({ type: 'run', runId, database: { dataDir, region: target.region }, statements, mode, keepOpen });
    return { done, cancel: () => worker.send({ type: 'cancel', runId }) };
  }

  /**
   * Opens a database now (creating it if new) and keeps it open until the gateway stops, so the first
   * statement of a pipeline does not wait seconds for PGlite to start. Resolves once it answers `select 1`.
   */
  async warm(target: DatabaseTarget): Promise<RunOutcome> {
    const select = { sql: 'select 1', text: 'select 1', values: [] };
    return this.run(target, [select], 'single', () => undefined, true).done;
  }

  /** Closes every database, so their folders open cleanly on the next start. */
  async closeAll(): Promise<void> {
    await this.worker?.close();
  }
}
