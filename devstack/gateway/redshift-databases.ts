/**
 * The embedded Postgres (PGlite) databases behind the Redshift Data API: one per region, cluster
 * or workgroup, and database name, each in its own folder under the gateway's data directory (so
 * tables outlive a restart of the stack) and in its own worker thread (redshift-worker.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BoundSql, FromWorker, RunOutcome, ToWorker, WorkerInit } from './redshift-worker';

/** Which database a statement runs in. */
export interface DatabaseTarget {
  region: string;
  clusterIdentifier?: string;
  workgroupName?: string;
  database: string;
}

/** Progress of one submission, as the worker reports it. */
export type RunProgress = Extract<FromWorker, { type: 'started' | 'finished' }>;

interface PendingRun {
  onProgress: (progress: RunProgress) => void;
  resolve: (outcome: RunOutcome) => void;
}

/** One database's worker thread. */
class DatabaseWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, PendingRun>();
  private nextRunId = 0;
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
    this.worker.on('error', (err) => this.failAll(`the database worker failed: ${err.message}`));
    this.closed = new Promise((resolve) =>
      this.worker.once('exit', () => {
        this.exited = true;
        this.failAll('the database worker exited');
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

  private failAll(error: string): void {
    for (const run of this.pending.values()) run.resolve({ status: 'FAILED', error: `ERROR: ${error}` });
    this.pending.clear();
  }

  private send(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  /**
   * Runs statements in one transaction, after those submitted before. Resolves with how they ended;
   * never rejects. `cancel` asks the worker to roll back at the next statement boundary.
   */
  run(
    statements: BoundSql[],
    onProgress: (progress: RunProgress) => void,
  ): { done: Promise<RunOutcome>; cancel: () => void } {
    const runId = ++this.nextRunId;
    const done = new Promise<RunOutcome>((resolve) => {
      if (this.exited) return resolve({ status: 'FAILED', error: 'ERROR: the database worker exited' });
      this.pending.set(runId, { onProgress, resolve });
      this.send({ type: 'run', runId, statements });
    });
    return { done, cancel: () => !this.exited && this.send({ type: 'cancel', runId }) };
  }

  /** Lets the worker finish what it runs, close PGlite cleanly, and exit. */
  async close(): Promise<void> {
    if (!this.exited) this.send({ type: 'close' });
    await this.closed;
  }
}

export class RedshiftDatabases {
  private readonly workers = new Map<string, DatabaseWorker>();

  /**
   * @param dataDir where the databases live: `<dataDir>/<region>/<cluster-x|workgroup-x>/<database>`
   * @param motoUrl moto, for the objects a COPY reads
   */
  constructor(
    private readonly dataDir: string,
    private readonly motoUrl: URL,
  ) {}

  /** The database of a target, its worker started on first use. */
  get(target: DatabaseTarget): DatabaseWorker {
    const owner = target.clusterIdentifier
      ? `cluster-${target.clusterIdentifier}`
      : `workgroup-${target.workgroupName}`;
    const dir = path.join(this.dataDir, ...[target.region, owner, target.database].map((p) => encodeURIComponent(p)));
    let worker = this.workers.get(dir);
    if (!worker) {
      fs.mkdirSync(dir, { recursive: true });
      // A worker that died (a corrupt folder, say) is forgotten: the next statement starts a new one.
      worker = new DatabaseWorker({ dataDir: dir, motoUrl: this.motoUrl.href, region: target.region }, () =>
        this.workers.delete(dir),
      );
      this.workers.set(dir, worker);
    }
    return worker;
  }

  /** Closes every database, so their folders open cleanly on the next start. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.workers.values()].map((worker) => worker.close()));
  }
}
