/**
 * The activity surface: what each activity takes and returns. Workflows proxy this interface
 * (`proxyActivities<GluelineActivities>`), `createActivities(deps)` implements it, and the compiler
 * keeps the two in step. Every input is plain JSON (it lands in workflow history): never a secret.
 */
import type { CheckFreshnessInput, FreshnessFindings } from './freshness';
import type { GlueManifest } from './layout';
import type { ManifestFiles, ManifestLocation, ManifestSummary } from './manifest-files';
import type { KeyListRef } from './run-input';
import type { CrawlJoin } from './pipeline';
import type { PollPolicy, RedshiftTarget } from './spec';
import type { StepRerun } from './step-command';

/** Objects in one bucket: given keys, or every object under a prefix. */
export interface ObjectSet {
  region: string;
  bucket: string;
  keys?: string[];
  prefix?: string;
  /**
   * The output files a Glue manifest lists, besides `keys`: the input names the manifest, not every key, so its
   * size does not grow with the files. The activity refuses a manifest that no longer matches count and checksum.
   */
  manifestFiles?: ManifestFiles;
  /** Or the keys a batch's key-list object lists (checked against its count and checksum). */
  keyList?: KeyListRef;
}

export interface CopyObjectsInput {
  source: ObjectSet;
  destinations: { region: string; bucket: string }[];
  /**
   * How a source key becomes a destination key: `stripPrefix` is removed (every source key must start
   * with it) and `addPrefix` put in front. @default - the same key
   */
  rename?: { stripPrefix: string; addPrefix: string };
  /** Keys copied after every other key is verified: their presence marks a complete copy. @default [] */
  lastKeys?: string[];
  /** Fail non-retryably (NoSourceObjects) when the source holds nothing. @default true */
  requireObjects?: boolean;
  /**
   * Whose objects the source holds, for the NoSourceObjects message: `batch`, the batch's own data (stage-raw: an
   * empty source is a prefix that names nothing, or an upload that did not finish); `earlier-step`, an earlier
   * step's output. @default 'earlier-step'
   */
  sourceIs?: 'batch' | 'earlier-step';
  /** Objects copied at once. @default 8 */
  concurrency?: number;
}

export interface CopyObjectsResult {
  /** Source objects, and their total size. */
  objects: number;
  bytes: number;
  /** Destination objects written by this call, and skipped because already identical. */
  copied: number;
  skipped: number;
  /** Every destination key, verified (size and checksum or ETag) before returning. */
  verifiedKeys: number;
}

/**
 * Heartbeat details of copyObjects, so a retry after a worker crash resumes without redoing verified objects.
 * Bounded: a bitmap over the copy's items, not their keys (src/activities/copy-progress.ts).
 */
export interface CopyProgress {
  /** How many items (destination objects) the copy plans, in order: each key's destinations, the last keys last. */
  items?: number;
  /** A checksum of the planned items' `<region>/<bucket>/<key>` ids in order; a retry with another plan starts over. */
  plan?: string;
  /** Base64 bitmap: bit i (byte i >> 3, bit i & 7) is set when item i is verified. */
  done?: string;
  /** Heartbeats of workers before the bitmap: `<region>/<bucket>/<key>` of each verified object (still read). */
  verified?: string[];
  bytesDone: number;
}

export type DeleteObjectsInput = ObjectSet & {
  /** Keys to leave in place: with `prefix`, deletes what an earlier run left beside them. @default [] */
  except?: string[];
  /** Also leave in place the output files this Glue manifest lists. @default - none */
  exceptManifestFiles?: ManifestFiles;
};

export interface WriteCopyManifestInput {
  region: string;
  bucket: string;
  /** Where the Redshift COPY manifest goes (layout's copyManifestKey). */
  key: string;
  /** The files it lists, in `bucket`, with the sizes the Glue manifest gives them; each is checked with HEAD. */
  files?: { key: string; bytes: number }[];
  /** The same, named by the Glue manifest (its output files and sizes) instead of listed. */
  manifestFiles?: ManifestFiles;
}

export interface StartGlueJobRunInput {
  region: string;
  jobName: string;
  arguments: Record<string, string>;
  /** Identifies the pipeline run; stored as a job argument so a retry finds the run instead of starting another. */
  runTag: string;
  /** @default - the job's own timeout */
  timeoutMinutes?: number;
  /** Backoff while Glue refuses the start with ConcurrentRunsExceededException. @default - DEFAULT_POLLING.glueJob */
  polling?: PollPolicy;
}

export interface StartGlueJobRunResult {
  jobRunId: string;
  /** True when a run with this runTag already existed (a retry after a crash) and was reused. */
  reused: boolean;
}

export interface WaitForGlueJobRunInput {
  region: string;
  jobName: string;
  jobRunId: string;
  polling: PollPolicy;
}

export interface GlueJobRunResult {
  jobRunId: string;
  jobRunState: 'SUCCEEDED';
  executionTimeSeconds: number;
  startedOn?: string;
  completedOn?: string;
  /** GetJobRun calls this activity made. */
  polls: number;
}

export interface StopGlueJobRunInput {
  region: string;
  jobName: string;
  /** The run to stop. @default - the run found by `runTag` (its start was never reported), if any */
  jobRunId?: string;
  /** The pipeline run's tag, to find the run when `jobRunId` is not known. */
  runTag?: string;
  /** How often to look while the run stops, and the backoff while Glue throttles. @default - DEFAULT_POLLING.glueJob */
  polling?: PollPolicy;
}

export interface StopGlueJobRunResult {
  /** The run that was looked at; absent when no run carried the tag. */
  jobRunId?: string;
  /** The state the run ended in: STOPPED, or whatever terminal state it had already reached; NOT_STARTED when no run carried the tag. */
  jobRunState: string;
  /** True when this call sent BatchStopJobRun; false when the run had already ended (or was stopping). */
  stopRequested: boolean;
}

/**
 * Details of the CancelledFailure a cancelled wait reports once it has stopped its AWS work, so the
 * workflow knows not to stop it again. Absent when the wait could not confirm the work ended.
 */
export interface StoppedOnCancel {
  /** The job run or statement the wait stopped. */
  stoppedId: string;
  /** Its terminal state or status, as AWS last reported it. */
  finalState: string;
}

export interface StartCrawlerInput {
  region: string;
  crawlerName: string;
  /** Used while waiting for someone else's crawl to end before starting ours. */
  polling: PollPolicy;
  /**
   * Where the batch's objects for this crawler are. A crawl in progress that started after the latest of them was
   * written (their LastModified, AWS's clock) covers them, and is joined. @default - not known: a crawl in progress
   * is waited out unless it started after this run first looked
   */
  data?: { bucket: string; prefix: string };
}

export interface StartCrawlerResult {
  crawlerName: string;
  /** AWS's clock (ISO): a finished crawl whose LastCrawl.StartTime is at or after it covers the batch. */
  startedAfter: string;
  /** 'aws' when startedAfter is AWS's clock; absent in the answers of workers before shared crawls (worker clock). */
  clock?: 'aws';
  /** True when another crawl was running and we waited for it first. */
  waitedForRunningCrawl: boolean;
  /** The crawl started or joined, and why. Absent in the answers of workers before shared crawls. */
  crawl?: CrawlJoin;
}

export interface WaitForCrawlerInput {
  region: string;
  crawlerName: string;
  startedAfter: string;
  /** startCrawler's `clock`: 'aws' compares startedAfter with LastCrawl.StartTime as it is. */
  clock?: 'aws';
  /** Stop the crawl when the wait is cancelled: only a crawl this run started, never one it shares. @default true */
  stopOnCancel?: boolean;
  /** startCrawler's `data`: a shared crawl stopped before it ended is replaced by another that covers it. */
  data?: StartCrawlerInput['data'];
  polling: PollPolicy;
}

export interface CrawlResult {
  crawlerName: string;
  status: 'SUCCEEDED';
  tablesCreated?: number;
  tablesUpdated?: number;
  tablesDeleted?: number;
  polls: number;
  /** The crawl the wait ended with, when the one it was given was stopped and it had to start or join another. */
  crawl?: CrawlJoin;
}

export interface ExecuteStatementsInput {
  region: string;
  target: RedshiftTarget;
  /** One statement runs through ExecuteStatement, several through BatchExecuteStatement (one transaction). */
  sqls: string[];
  /** Named parameters (`:name`), for a single statement only. */
  parameters?: Record<string, string>;
  /** Stable across retries of the same step of the same run; the ClientToken is derived from it. */
  idempotencyKey: string;
  /** Shown in Redshift's query history. */
  statementName?: string;
}

export interface ExecuteStatementsResult {
  statementId: string;
}

export interface WaitForStatementInput {
  region: string;
  statementId: string;
  polling: PollPolicy;
  /** Fetch the result rows (paged) when the statement finishes. @default false */
  fetchResults?: boolean;
}

export interface CancelStatementInput {
  region: string;
  statementId: string;
  /** Backoff while the Data API throttles CancelStatement. @default - DEFAULT_POLLING.redshift */
  polling?: PollPolicy;
}

export interface CancelStatementResult {
  statementId: string;
  /** True when Redshift accepted the cancellation; false when the statement had already ended. */
  cancelled: boolean;
  /** The status the statement had already ended in, when it was not cancelled. */
  status?: string;
}

export interface StatementResult {
  statementId: string;
  status: 'FINISHED';
  durationMs?: number;
  subStatements: { id: string; status: string; resultRows?: number }[];
  /** With fetchResults: column names and rows, values as strings (null for SQL NULL). */
  columns?: string[];
  rows?: (string | null)[][];
  polls: number;
}

/** Everything the team needs to act on a failure. Built by the workflow, sent by the notify activities. */
export interface FailureNotice {
  /**
   * A failure of the run, a warning (a `warn` limit crossed; the run goes on), or the freshness watch's notices: a
   * window passed with no batch completed (`freshness-missed`), data arrived again (`freshness-back`).
   * @default 'failure'
   */
  kind?: NoticeKind;
  pipeline: string;
  batchId: string;
  /** The failed step, with its region where it runs per region (`crawl-curated@eu-west-1`). */
  step: string;
  region?: string;
  error: { type: string; message: string; cause?: string };
  /** The failed activity's attempt count. */
  attempt?: number;
  workflowId: string;
  runId: string;
  workflowType: string;
  startedAt: string;
  failedAt: string;
  /** AWS ids of the failed step (jobRunId, statementId, crawlerName). */
  awsIds?: Record<string, string>;
  email?: { to: string[]; from: string };
  webhook?: { url: string };
  /**
   * Where the email activity keeps its sent record (`_glueline/notifications/<message-id>`): the primary curated
   * bucket. @default - no marker, only the activity's heartbeat
   */
  sentRecord?: { region: string; bucket: string };
  /**
   * Set when the run was refused before it started (its input is not valid) and it was started by a schedule or
   * an S3 event, so nobody watched it start. @default - a step failed
   */
  refused?: { trigger: RunTrigger };
  /**
   * A step run alone (pipelineStep): what the `glueline step` command that runs it again needs.
   * @default - not a step run, or a notice from before this field (the email shows placeholders)
   */
  stepRerun?: StepRerun;
}

/** What a notice tells. */
export type NoticeKind = 'failure' | 'warning' | 'freshness-missed' | 'freshness-back';

/** Who started a run that nobody watched start. */
export type RunTrigger = 'schedule' | 's3-event';

/** What sendFailureEmail did. */
export interface SentEmail {
  /** The Message-ID (without angle brackets): the same on every attempt. */
  messageId: string;
  /** The email was not sent again: an earlier attempt's record (its marker or its heartbeat) says it was accepted. */
  alreadySent?: 'marker' | 'heartbeat';
  /** False when the server accepted the email but its marker could not be written. */
  recorded?: boolean;
}

export interface GluelineActivities {
  /** Server-side copies, skipping identical objects, verified before returning; resumes from heartbeats. */
  copyObjects(input: CopyObjectsInput): Promise<CopyObjectsResult>;
  /** Deletes objects: the clean-up of a copy that failed verification, or what earlier runs left under a prefix. */
  deleteObjects(input: DeleteObjectsInput): Promise<{ deleted: number }>;
  /**
   * Writes a Redshift COPY manifest listing exactly `files` (mandatory, with meta.content_length), after
   * checking with HEAD that each is there with the size the Glue manifest gives.
   */
  writeCopyManifest(input: WriteCopyManifestInput): Promise<{ entries: number }>;
  /**
   * Reads and checks the Glue job's manifest, and returns its counts and its output files named by the manifest (its
   * ETag, their count and a checksum): a few hundred bytes however many files the job wrote.
   */
  readManifestSummary(input: ManifestLocation): Promise<ManifestSummary>;
  /** The whole manifest, output files listed: only for runs whose history read it so (before the summary). */
  readManifest(input: ManifestLocation): Promise<GlueManifest>;

  startGlueJobRun(input: StartGlueJobRunInput): Promise<StartGlueJobRunResult>;
  waitForGlueJobRun(input: WaitForGlueJobRunInput): Promise<GlueJobRunResult>;
  /**
   * Stops a job run (BatchStopJobRun) and waits, heartbeating, until it is terminal. A run already ended is
   * left as it is, so stopping twice is harmless. The workflow runs it when a run it started may still be
   * running after a cancellation or failure that the wait did not handle (the wait was not running), or
   * by its tag alone when startGlueJobRun was cancelled or timed out (its run, if any, was never reported).
   */
  stopGlueJobRun(input: StopGlueJobRunInput): Promise<StopGlueJobRunResult>;

  startCrawler(input: StartCrawlerInput): Promise<StartCrawlerResult>;
  waitForCrawler(input: WaitForCrawlerInput): Promise<CrawlResult>;

  executeStatements(input: ExecuteStatementsInput): Promise<ExecuteStatementsResult>;
  waitForStatement(input: WaitForStatementInput): Promise<StatementResult>;
  /**
   * Cancels a statement (CancelStatement). A statement that already ended is fine, so cancelling twice is
   * harmless. The workflow runs it when a statement it started may still be running after a cancellation or
   * failure that the wait did not handle.
   */
  cancelStatement(input: CancelStatementInput): Promise<CancelStatementResult>;

  /** Emails the notice (nodemailer, SMTP URL from the worker's environment). */
  sendFailureEmail(notice: FailureNotice): Promise<SentEmail>;
  /** POSTs the notice as JSON to spec.notify.webhook.url. */
  postFailureWebhook(notice: FailureNotice): Promise<{ status: number }>;

  /** The freshness watch's look at a pipeline's runs (Temporal visibility): what completed, failed or runs. */
  checkFreshness(input: CheckFreshnessInput): Promise<FreshnessFindings>;
}
