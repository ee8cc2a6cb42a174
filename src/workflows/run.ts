/**
 * The one step runner behind both workflows: the steps, their order, progress bookkeeping and the
 * failure notification. `csvPipeline` runs the selected steps of the whole pipeline; `pipelineStep`
 * runs one step instance through exactly the same code.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  defineQuery,
  isCancellation,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  TemporalFailure,
  TimeoutFailure,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import type {
  CopyObjectsResult,
  FailureNotice,
  GlueJobRunResult,
  ObjectSet,
  StartGlueJobRunResult,
  StatementResult,
  StoppedOnCancel,
} from '../workflow-safe/activity-types';
import { FailureType } from '../workflow-safe/failures';
import {
  commonDirectory,
  copyManifestKey,
  curatedBatchPrefix,
  glueJobArguments,
  manifestKey,
  primaryRegion,
  quarantineBatchPrefix,
  rawBatchPrefix,
  renderSql,
  replicaRegions,
  s3Uri,
  type GlueManifest,
} from '../workflow-safe/layout';
import {
  isPerRegionStep,
  PROGRESS_QUERY,
  SearchAttributeKeys,
  stepInstance,
  type PipelineProgress,
  type PipelineResult,
  type StepProgress,
} from '../workflow-safe/pipeline';
import {
  parseOrExplain,
  SpecValidationError,
  STEPS,
  type Batch,
  type PipelineSpec,
  type StepName,
} from '../workflow-safe/spec';
import { activityProxies, glueWaitOptions, maximumAttemptsOf } from './activity-options';
import type { z } from 'zod';

/** The `progress` query: every step instance's status, attempt, times, AWS ids and counts. */
export const progressQuery = defineQuery<PipelineProgress>(PROGRESS_QUERY);

/**
 * Validates workflow input. A bad spec fails the run at once, non-retryably, with every problem's path,
 * value and fix, before any step runs. No notification is sent: nothing ran, the caller sees the error as
 * the run's result, and a spec this broken may not even hold usable notification settings.
 */
export function validateInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  try {
    return parseOrExplain(schema, input, 'input');
  } catch (err) {
    if (err instanceof SpecValidationError) {
      throw ApplicationFailure.create({
        message: err.message,
        type: FailureType.InvalidInput,
        nonRetryable: true,
        details: [{ problems: err.problems }],
      });
    }
    throw err;
  }
}

/** Why a step instance does not run, or undefined when it runs. */
export type SkipRule = (step: StepName, region?: string) => string | undefined;

/** Every step instance of a spec, in pipeline order (per-region steps in the spec's region order). */
export function allStepInstances(spec: PipelineSpec): { name: StepName; region?: string }[] {
  return STEPS.flatMap((name) =>
    isPerRegionStep(name) ? spec.regions.map((r) => ({ name, region: r.region })) : [{ name }],
  );
}

/** One run's state: the validated input, each step instance's progress, and what steps hand on. */
export class PipelineRun {
  readonly progress: PipelineProgress;
  private readonly steps = new Map<string, StepProgress>();
  /** The Glue job's manifest, once transform or a later step has read it. */
  manifest?: GlueManifest;
  /** The activities, with the spec's timeouts. */
  readonly activities: ReturnType<typeof activityProxies>;
  /** The first step that failed (or was cancelled), and why. */
  failure?: { step: StepProgress; error: TemporalFailure };

  constructor(
    readonly spec: PipelineSpec,
    readonly batch: Batch,
    instances: { name: StepName; region?: string }[],
    skipRule: SkipRule,
  ) {
    const info = workflowInfo();
    this.activities = activityProxies(spec);
    this.progress = {
      workflowType: info.workflowType,
      pipeline: spec.name,
      batchId: batch.id,
      workflowId: info.workflowId,
      runId: info.runId,
      status: 'running',
      startedAt: new Date(info.startTime).toISOString(),
      steps: [],
    };
    for (const { name, region } of instances) {
      const step = stepInstance(name, region);
      const skipReason = structuralSkip(spec, name, region) ?? skipRule(name, region);
      const progress: StepProgress = {
        step,
        name,
        ...(region ? { region } : {}),
        status: skipReason ? 'skipped' : 'pending',
        ...(skipReason ? { skipReason } : {}),
        awsIds: {},
        counts: {},
      };
      this.steps.set(step, progress);
      this.progress.steps.push(progress);
    }
  }

  /** The progress of a step instance, or undefined when this run does not include it. */
  step(name: StepName, region?: string): StepProgress | undefined {
    return this.steps.get(stepInstance(name, region));
  }

  private notified?: Promise<void>;
  /** Sends the run's failure notification; later calls wait for the same one: one notice per failed run. */
  notifyOnce(failure: TemporalFailure): Promise<void> {
    return (this.notified ??= notifyFailure(this, failure));
  }

  get runTag(): string {
    return `${this.progress.workflowId}/${this.progress.runId}`;
  }

  result(): PipelineResult {
    const stage = this.step('stage-raw');
    const m = this.manifest;
    const endedAt = this.progress.endedAt ?? new Date().toISOString();
    return {
      ...this.progress,
      durationMs: Date.parse(endedAt) - Date.parse(this.progress.startedAt),
      totals: {
        ...(stage?.status === 'succeeded' ? { rawObjects: stage.counts.objects, rawBytes: stage.counts.bytes } : {}),
        ...(m
          ? {
              curatedObjects: m.outputFiles.length,
              curatedBytes: m.outputFiles.reduce((n, f) => n + f.bytes, 0),
              rowsIn: m.rowsIn,
              rowsOut: m.rowsOut,
              rowsRejected: m.rowsRejected,
            }
          : {}),
      },
    };
  }
}

/** Steps that have nothing to do in a region, whatever the options say. */
function structuralSkip(spec: PipelineSpec, name: StepName, region?: string): string | undefined {
  if (name !== 'redshift-refresh') return undefined;
  if (!spec.redshift) return 'the spec has no redshift section';
  if (!spec.regions.find((r) => r.region === region)?.redshift) return `region ${region} has no redshift target`;
  return undefined;
}

/**
 * Runs a pipeline run's step instances in order (regions in parallel after replicate-curated) and
 * returns the result. On any failure, including a timeout or a cancellation, it sends exactly one
 * failure notification, then rethrows the original failure.
 */
export async function runPipeline(run: PipelineRun): Promise<PipelineResult> {
  setHandler(progressQuery, () => run.progress);
  // Starters set these at start (src/starters/start-options.ts); a run started by hand gets them here. Either way
  // the namespace must have them registered (the dev server of devstack/ does).
  const attributes = [
    { key: SearchAttributeKeys.pipeline, value: run.spec.name },
    { key: SearchAttributeKeys.batch, value: run.batch.id },
  ];
  const current = workflowInfo().typedSearchAttributes;
  if (attributes.some(({ key, value }) => current.get(key) !== value)) upsertSearchAttributes(attributes);
  upsertMemo({ pipeline: run.spec.name, batchId: run.batch.id, steps: run.progress.steps.map((s) => s.step) });
  try {
    await runStep(run, 'stage-raw', undefined, stageRaw);
    await runStep(run, 'crawl-raw', undefined, (p) =>
      crawl(run, p, primaryRegion(run.spec).region, run.spec.raw.crawler),
    );
    await runStep(run, 'transform', undefined, transform);
    await runStep(run, 'replicate-curated', undefined, replicateCurated);
    await runRegions(run);
  } catch (err) {
    const failure = run.failure?.error ?? asTemporalFailure(err);
    run.progress.status = isCancellation(failure) ? 'cancelled' : 'failed';
    run.progress.endedAt = new Date().toISOString();
    await run.notifyOnce(failure);
    throw failure;
  }
  run.progress.status = 'succeeded';
  run.progress.endedAt = new Date().toISOString();
  showDetails(run);
  return run.result();
}

type StepBody = (p: StepProgress, run: PipelineRun) => Promise<void>;

/** Runs one step instance (unless skipped or not in this run), keeping its progress. */
async function runStep(run: PipelineRun, name: StepName, region: string | undefined, body: StepBody): Promise<void> {
  const p = run.step(name, region);
  if (!p || p.status === 'skipped') return;
  p.status = 'running';
  p.startedAt = new Date().toISOString();
  showDetails(run);
  try {
    await body(p, run);
    p.status = 'succeeded';
  } catch (err) {
    const failure = asTemporalFailure(err);
    p.status = isCancellation(failure) ? 'cancelled' : 'failed';
    const { type, message } = describeFailure(failure);
    p.error = { type, message };
    const attempt = attemptOf(failure);
    if (attempt !== undefined) p.attempt = attempt;
    run.failure ??= { step: p, error: failure };
    throw failure;
  } finally {
    p.endedAt = new Date().toISOString();
    p.durationMs = Date.parse(p.endedAt) - Date.parse(p.startedAt);
    showDetails(run);
  }
}

/**
 * crawl-curated then redshift-refresh, in every region at once. Regions are independent: the first
 * failure is notified at once, the other regions still finish (their data is verified and their refresh
 * is a whole transaction), and then the run fails with the first failure. Not cancelling the others also
 * keeps a half-run statement from being aborted mid-refresh.
 */
async function runRegions(run: PipelineRun): Promise<void> {
  const outcomes = await Promise.allSettled(
    run.spec.regions.map(async (r) => {
      try {
        await runStep(run, 'crawl-curated', r.region, (p) => crawl(run, p, r.region, r.curatedCrawler));
        await runStep(run, 'redshift-refresh', r.region, redshiftRefresh);
      } catch (err) {
        if (run.failure && !isCancellation(run.failure.error)) await run.notifyOnce(run.failure.error);
        throw err;
      }
    }),
  );
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (rejected) throw run.failure?.error ?? rejected.reason;
}

/** stage-raw: copies the batch's CSVs into the primary raw bucket (and every region's, when the spec asks). */
async function stageRaw(p: StepProgress, run: PipelineRun): Promise<void> {
  const { spec, batch } = run;
  const primary = primaryRegion(spec);
  const { source } = batch;
  const regions = spec.raw.stageToAllRegions ? spec.regions : [primary];
  const destinations = regions.map((r) => ({ region: r.region, bucket: r.rawBucket }));
  const objects: ObjectSet = {
    region: source.region ?? primary.region,
    bucket: source.bucket,
    ...(source.keys ? { keys: source.keys } : { prefix: source.prefix! }),
  };
  p.awsIds.buckets = destinations.map((d) => d.bucket);
  const result = await run.activities.awsWaits.copyObjects.executeWithOptions(
    { summary: `stage-raw: copy the batch's CSVs from s3://${source.bucket} to ${destinations.length} raw bucket(s)` },
    [
      {
        source: objects,
        destinations,
        rename: {
          stripPrefix: source.keys ? commonDirectory(source.keys) : source.prefix!,
          addPrefix: rawBatchPrefix(spec, batch),
        },
        requireObjects: true,
        concurrency: spec.copy.concurrency,
      },
    ],
  );
  Object.assign(p.counts, copyCounts(result));
}

/** crawl-raw and crawl-curated@R: start the crawler (joining one already running), then wait for it. */
async function crawl(run: PipelineRun, p: StepProgress, region: string, crawlerName: string): Promise<void> {
  const polling = run.spec.polling.crawler;
  p.awsIds.crawlerName = crawlerName;
  const started = await run.activities.awsWaits.startCrawler.executeWithOptions(
    { summary: `${p.step}: start crawler ${crawlerName} in ${region}` },
    [{ region, crawlerName, polling }],
  );
  const result = await run.activities.awsWaits.waitForCrawler.executeWithOptions(
    { summary: `${p.step}: wait for crawler ${crawlerName} in ${region}` },
    [{ region, crawlerName, startedAfter: started.startedAfter, polling }],
  );
  Object.assign(p.counts, {
    polls: result.polls,
    ...(result.tablesCreated !== undefined ? { tablesCreated: result.tablesCreated } : {}),
    ...(result.tablesUpdated !== undefined ? { tablesUpdated: result.tablesUpdated } : {}),
    ...(result.tablesDeleted !== undefined ? { tablesDeleted: result.tablesDeleted } : {}),
  });
}

/**
 * transform: starts the Glue job run (tagged with this run, so a retry finds it instead of starting a
 * second), waits for it with heartbeats (cancelling the workflow stops it), then reads its manifest. If
 * the wait ends without the run having ended (a cancellation while the wait was not running, a timeout),
 * the run is stopped before the step fails.
 */
async function transform(p: StepProgress, run: PipelineRun): Promise<void> {
  const { spec, batch } = run;
  const region = primaryRegion(spec).region;
  const { jobName, timeoutMinutes } = spec.transform;
  p.awsIds.jobName = jobName;
  let started: StartGlueJobRunResult;
  try {
    started = await run.activities.awsWaits.startGlueJobRun.executeWithOptions(
      { summary: `transform: start Glue job ${jobName} for batch ${batch.id}` },
      [{ region, jobName, arguments: glueJobArguments(spec, batch), runTag: run.runTag, timeoutMinutes }],
    );
  } catch (err) {
    // An attempt may have started the run and died (or been cancelled) before reporting it: stop it by its tag.
    if (startMayHaveRun(err) && patched(STOP_BY_RUN_TAG_PATCH)) {
      await stopLeftover(p, `the glue job run tagged ${run.runTag}`, () =>
        run.activities.awsWaits.stopGlueJobRun.executeWithOptions(
          { summary: `transform: stop the Glue job run of this run` },
          [{ region, jobName, runTag: run.runTag, polling: spec.polling.glueJob }],
        ),
      );
    }
    throw err;
  }
  p.awsIds.jobRunId = started.jobRunId;
  showDetails(run);
  const jobRun = { region, jobName, jobRunId: started.jobRunId, polling: spec.polling.glueJob };
  let done: GlueJobRunResult;
  try {
    done = await run.activities.awsWaits.waitForGlueJobRun.executeWithOptions(
      { ...glueWaitOptions(timeoutMinutes), summary: `transform: wait for Glue job run ${started.jobRunId}` },
      [jobRun],
    );
  } catch (err) {
    if (mayStillRun(err, FailureType.GlueJobRunFailed)) {
      await stopLeftover(p, `glue job run ${started.jobRunId}`, () =>
        run.activities.awsWaits.stopGlueJobRun.executeWithOptions(
          { summary: `transform: stop Glue job run ${started.jobRunId}` },
          [jobRun],
        ),
      );
    }
    throw err;
  }
  p.counts.executionTimeSeconds = done.executionTimeSeconds;
  p.counts.polls = done.polls;
  await readManifest(p, run);
}

/** Reads the job's manifest from the primary curated bucket and records its counts on the step. */
async function readManifest(p: StepProgress, run: PipelineRun): Promise<GlueManifest> {
  const { spec, batch } = run;
  const primary = primaryRegion(spec);
  const manifest = await run.activities.awsCalls.readManifest.executeWithOptions(
    { summary: `${p.step}: read the Glue job's manifest for batch ${batch.id}` },
    [{ region: primary.region, bucket: primary.curatedBucket, key: manifestKey(spec, batch) }],
  );
  run.manifest = manifest;
  Object.assign(p.counts, {
    rowsIn: manifest.rowsIn,
    rowsOut: manifest.rowsOut,
    rowsRejected: manifest.rowsRejected,
    outputFiles: manifest.outputFiles.length,
    outputBytes: manifest.outputFiles.reduce((n, f) => n + f.bytes, 0),
  });
  return manifest;
}

/**
 * Marks histories whose replicate-curated leaves each replica's batch prefix holding exactly the manifest's
 * files and writes a Redshift COPY manifest per region; runs started before it replay the plain copy.
 */
export const EXACT_CURATED_PATCH = 'curated-prefix-holds-exactly-the-manifest';

/**
 * replicate-curated: makes every replica's batch prefix hold exactly the Parquet the manifest lists, verified,
 * and writes each region's Redshift COPY manifest of those files, so the refresh loads this run's files and
 * nothing an earlier run left (Spark names its files anew each run). In order, so that no state short of the
 * end looks complete, whenever a worker or the run stops: the replica's old manifests are deleted, the data
 * copied, the files of earlier runs deleted, the COPY manifests written, and the Glue job's manifest copied
 * last. If any of it fails, the replica's copies are deleted, manifests first.
 */
export async function replicateCurated(p: StepProgress, run: PipelineRun): Promise<void> {
  const { spec, batch } = run;
  const primary = primaryRegion(spec);
  // After startAt=replicate-curated the manifest was not read in this run: read it here.
  const manifest = run.manifest ?? (await readManifest(p, run));
  if (manifest.outputFiles.length === 0) {
    throw ApplicationFailure.nonRetryable(
      `glue job ${spec.transform.jobName} wrote no Parquet for batch ${batch.id} ` +
        `(manifest ${s3Uri(primary.curatedBucket, manifestKey(spec, batch))}: ${manifest.rowsIn} rows in, ` +
        `${manifest.rowsRejected} rejected): check the CSVs under ${s3Uri(primary.rawBucket, rawBatchPrefix(spec, batch))} ` +
        `and the rejected rows under ${s3Uri(primary.curatedBucket, quarantineBatchPrefix(spec, batch))}`,
      FailureType.NoSourceObjects,
    );
  }
  const exact = patched(EXACT_CURATED_PATCH);
  const replicas = replicaRegions(spec);
  if (replicas.length === 0) {
    if (exact) await writeCopyManifests(p, run, manifest, [primary.region]);
    return;
  }
  const mKey = manifestKey(spec, batch);
  const cKey = copyManifestKey(spec, batch);
  const dataKeys = manifest.outputFiles.map((f) => f.key);
  const destinations = replicas.map((r) => ({ region: r.region, bucket: r.curatedBucket }));
  p.awsIds.buckets = destinations.map((d) => d.bucket);
  try {
    if (exact) await replicateExactly(p, run, manifest, destinations);
    else {
      const result = await run.activities.awsWaits.copyObjects.executeWithOptions(
        {
          summary: `replicate-curated: copy ${dataKeys.length} Parquet file(s) of ${curatedBatchPrefix(spec, batch)} to ${replicas.map((r) => r.region).join(', ')}`,
        },
        [
          {
            source: { region: primary.region, bucket: primary.curatedBucket, keys: [...dataKeys, mKey] },
            destinations,
            lastKeys: [mKey],
            requireObjects: true,
            concurrency: spec.copy.concurrency,
          },
        ],
      );
      Object.assign(p.counts, copyCounts(result));
    }
  } catch (err) {
    await CancellationScope.nonCancellable(async () => {
      const cleanups = await Promise.allSettled(
        destinations.map((d) =>
          run.activities.awsCalls.deleteObjects.executeWithOptions(
            { summary: `replicate-curated: delete the unverified copy in s3://${d.bucket}` },
            // The manifests first: without them a partial copy never looks complete, nor is loaded.
            [{ region: d.region, bucket: d.bucket, keys: exact ? [mKey, cKey, ...dataKeys] : [mKey, ...dataKeys] }],
          ),
        ),
      );
      cleanups.forEach((c, i) => {
        if (c.status === 'rejected')
          log.warn('could not delete an unverified copy', {
            bucket: destinations[i]!.bucket,
            error: String(c.reason),
          });
      });
    });
    throw err;
  }
}

/** The steps of {@link replicateCurated} under {@link EXACT_CURATED_PATCH}, in the order that keeps partial states incomplete. */
async function replicateExactly(
  p: StepProgress,
  run: PipelineRun,
  manifest: GlueManifest,
  destinations: { region: string; bucket: string }[],
): Promise<void> {
  const { spec, batch } = run;
  const primary = primaryRegion(spec);
  const mKey = manifestKey(spec, batch);
  const prefix = curatedBatchPrefix(spec, batch);
  const dataKeys = manifest.outputFiles.map((f) => f.key);
  const regions = destinations.map((d) => d.region).join(', ');
  const eachReplica = <T>(call: (d: { region: string; bucket: string }) => Promise<T>) =>
    Promise.all(destinations.map(call));

  // An earlier run's manifests first: from here until the end, no replica looks complete or is loadable.
  await eachReplica((d) =>
    run.activities.awsCalls.deleteObjects.executeWithOptions(
      { summary: `replicate-curated: delete the earlier manifests of batch ${batch.id} in s3://${d.bucket}` },
      [{ region: d.region, bucket: d.bucket, keys: [mKey, copyManifestKey(spec, batch)] }],
    ),
  );
  const copy = (keys: string[], summary: string) =>
    run.activities.awsWaits.copyObjects.executeWithOptions({ summary }, [
      {
        source: { region: primary.region, bucket: primary.curatedBucket, keys },
        destinations,
        requireObjects: true,
        concurrency: spec.copy.concurrency,
      },
    ]);
  const data = await copy(
    dataKeys,
    `replicate-curated: copy ${dataKeys.length} Parquet file(s) of ${prefix} to ${regions}`,
  );
  // Spark names its files anew each run: what else is under the prefix is an earlier run's, and a COPY, a
  // crawler or Spectrum reading the prefix would take it for this batch's.
  const stale = await eachReplica((d) =>
    run.activities.awsCalls.deleteObjects.executeWithOptions(
      { summary: `replicate-curated: delete earlier runs' files under s3://${d.bucket}/${prefix}` },
      [{ region: d.region, bucket: d.bucket, prefix, except: dataKeys }],
    ),
  );
  await writeCopyManifests(p, run, manifest, [primary.region, ...destinations.map((d) => d.region)]);
  const last = await copy(
    [mKey],
    `replicate-curated: copy the Glue job's manifest of batch ${batch.id} to ${regions}, last`,
  );
  Object.assign(p.counts, copyCounts(sumCopies(data, last)), {
    staleDeleted: stale.reduce((n, s) => n + s.deleted, 0),
  });
}

/**
 * Writes the batch's Redshift COPY manifest (`${copy_manifest_uri}`) in each of `regions` that has a Redshift
 * target: exactly the Glue manifest's files, in that region's curated bucket.
 */
async function writeCopyManifests(
  p: StepProgress,
  run: PipelineRun,
  manifest: GlueManifest,
  regions: string[],
): Promise<void> {
  const { spec, batch } = run;
  if (!spec.redshift) return;
  const targets = spec.regions.filter((r) => r.redshift && regions.includes(r.region));
  const written = await Promise.all(
    targets.map((r) =>
      run.activities.awsCalls.writeCopyManifest.executeWithOptions(
        { summary: `replicate-curated: write the COPY manifest of batch ${batch.id} in s3://${r.curatedBucket}` },
        [{ region: r.region, bucket: r.curatedBucket, key: copyManifestKey(spec, batch), files: manifest.outputFiles }],
      ),
    ),
  );
  p.counts.copyManifests = written.length;
}

function sumCopies(a: CopyObjectsResult, b: CopyObjectsResult): CopyObjectsResult {
  return {
    objects: a.objects + b.objects,
    bytes: a.bytes + b.bytes,
    copied: a.copied + b.copied,
    skipped: a.skipped + b.skipped,
    verifiedKeys: a.verifiedKeys + b.verifiedKeys,
  };
}

/**
 * redshift-refresh@R: runs the refresh SQL with an idempotency key of this run and step, then waits for
 * it. If the wait ends without the statement having ended (a cancellation while the wait was not
 * running, a timeout), the statement is cancelled before the step fails.
 */
async function redshiftRefresh(p: StepProgress, run: PipelineRun): Promise<void> {
  const { spec, batch } = run;
  const region = p.region!;
  const target = spec.regions.find((r) => r.region === region)!.redshift!;
  const executed = await run.activities.awsCalls.executeStatements.executeWithOptions(
    {
      summary: `${p.step}: run the refresh SQL on ${target.workgroupName ?? target.clusterIdentifier}`,
      // A cancellation waits for the call to end, so a statement it started is known, and cancelled below.
      ...(patched(STOP_LEFTOVERS_PATCH)
        ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED }
        : {}),
    },
    [
      {
        region,
        target,
        sqls: renderSql(spec, batch, region),
        idempotencyKey: `${run.runTag}/${p.step}`,
        statementName: `glueline-${spec.name}-${batch.id}`,
      },
    ],
  );
  p.awsIds.statementIds = [executed.statementId];
  showDetails(run);
  const { statementId } = executed;
  let result: StatementResult;
  try {
    result = await run.activities.awsWaits.waitForStatement.executeWithOptions(
      { summary: `${p.step}: wait for statement ${statementId}` },
      [{ region, statementId, polling: spec.polling.redshift }],
    );
  } catch (err) {
    if (mayStillRun(err, FailureType.StatementFailed)) {
      await stopLeftover(p, `redshift statement ${statementId}`, () =>
        run.activities.awsCalls.cancelStatement.executeWithOptions(
          { summary: `${p.step}: cancel statement ${statementId}` },
          [{ region, statementId, polling: spec.polling.redshift }],
        ),
      );
    }
    throw err;
  }
  p.awsIds.statementIds = [executed.statementId, ...result.subStatements.map((s) => s.id)];
  p.counts.polls = result.polls;
}

/**
 * Whether the AWS work a wait watched may still be running after the wait failed with `err`. Not when
 * the work ended on its own (the wait's `endedType` failure), nor when the cancelled wait stopped it
 * itself (its cancellation carries {@link StoppedOnCancel}). Otherwise yes: above all a cancellation that
 * reached the wait while it was not running (worker down, between attempts, never started), which no
 * activity saw.
 */
function mayStillRun(err: unknown, endedType: FailureType): boolean {
  const inner = err instanceof ActivityFailure ? err.cause : err;
  if (inner instanceof ApplicationFailure && inner.type === endedType) return false;
  const stopped = (d: unknown) => typeof (d as Partial<StoppedOnCancel> | null)?.finalState === 'string';
  return !(inner instanceof CancelledFailure && inner.details.some(stopped));
}

/**
 * Whether a failed startGlueJobRun may have left a run the workflow never heard of: it was cancelled or timed
 * out (an attempt may have died after StartJobRun). A start that Glue refused started nothing.
 */
function startMayHaveRun(err: unknown): boolean {
  return isCancellation(err) || (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure);
}

/** Marks histories whose runs stop, by its run tag, a Glue run whose start was cancelled or timed out. */
export const STOP_BY_RUN_TAG_PATCH = 'stop-glue-run-by-tag';

/**
 * Marks histories whose runs stop what a failed wait left running (and whose executeStatements waits out a
 * cancellation); runs started before it replay as before.
 */
export const STOP_LEFTOVERS_PATCH = 'stop-aws-work-left-running';

/**
 * Stops AWS work a failed step may have left running, in a scope the run's cancellation cannot interrupt.
 * A failure to stop it is logged (the step's own failure is what the run fails with).
 */
async function stopLeftover(p: StepProgress, what: string, stop: () => Promise<unknown>): Promise<void> {
  if (!patched(STOP_LEFTOVERS_PATCH)) return;
  try {
    await CancellationScope.nonCancellable(stop);
  } catch (err) {
    log.error(`could not stop ${what}: it may still be running`, { step: p.step, error: String(err) });
  }
}

function copyCounts(r: CopyObjectsResult): StepProgress['counts'] {
  return {
    objects: r.objects,
    bytes: r.bytes,
    copied: r.copied,
    skippedIdentical: r.skipped,
    verifiedKeys: r.verifiedKeys,
  };
}

/**
 * Sends the run's one failure notification on every channel the spec configures, at once and
 * independently (one channel failing never holds up the other), in a scope that a cancellation of the
 * workflow cannot interrupt.
 */
async function notifyFailure(run: PipelineRun, failure: TemporalFailure): Promise<void> {
  const notice = buildNotice(run, failure);
  const { email, webhook } = run.spec.notify;
  await CancellationScope.nonCancellable(async () => {
    const channels: ['email' | 'webhook', Promise<unknown>][] = [];
    const summary = `notify-failure: ${notice.step} failed (${notice.error.type})`;
    if (email)
      channels.push(['email', run.activities.notifications.sendFailureEmail.executeWithOptions({ summary }, [notice])]);
    if (webhook)
      channels.push([
        'webhook',
        run.activities.notifications.postFailureWebhook.executeWithOptions({ summary }, [notice]),
      ]);
    const outcomes = await Promise.allSettled(channels.map(([, sent]) => sent));
    run.progress.notifications = {};
    outcomes.forEach((outcome, i) => {
      const channel = channels[i]![0];
      run.progress.notifications![channel] = outcome.status === 'fulfilled' ? 'sent' : 'failed';
      if (outcome.status === 'rejected')
        log.error(`the failure ${channel} could not be sent`, { error: String(outcome.reason) });
    });
  });
}

/** The notice the team receives: the failed step, the error, the attempt, the run and its AWS ids. */
export function buildNotice(run: PipelineRun, failure: TemporalFailure): FailureNotice {
  const step = run.failure?.step;
  const awsIds: Record<string, string> = {};
  const ids = step?.awsIds ?? {};
  if (ids.crawlerName) awsIds.crawlerName = ids.crawlerName;
  if (ids.jobName) awsIds.jobName = ids.jobName;
  if (ids.jobRunId) awsIds.jobRunId = ids.jobRunId;
  if (ids.statementIds?.length) awsIds.statementId = ids.statementIds.join(', ');
  if (ids.buckets?.length) awsIds.buckets = ids.buckets.join(', ');
  const attempt = step?.attempt ?? attemptOf(failure);
  return {
    pipeline: run.spec.name,
    batchId: run.batch.id,
    step: step?.step ?? 'workflow',
    ...(step?.region ? { region: step.region } : {}),
    error: describeFailure(failure),
    ...(attempt !== undefined ? { attempt } : {}),
    workflowId: run.progress.workflowId,
    runId: run.progress.runId,
    workflowType: run.progress.workflowType,
    startedAt: run.progress.startedAt,
    failedAt: new Date().toISOString(),
    ...(Object.keys(awsIds).length ? { awsIds } : {}),
    ...(run.spec.notify.email ? { email: run.spec.notify.email } : {}),
    ...(run.spec.notify.webhook ? { webhook: run.spec.notify.webhook } : {}),
  };
}

/** An error as a TemporalFailure: what the workflow can fail with (anything else would only fail the task). */
function asTemporalFailure(err: unknown): TemporalFailure {
  if (err instanceof TemporalFailure) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({ message: e.message, type: e.name, nonRetryable: true, cause: e });
}

/** The type, message and cause the team reads, from the failure that reached the workflow. */
export function describeFailure(failure: TemporalFailure): FailureNotice['error'] {
  const inner = failure instanceof ActivityFailure ? failure.cause : failure;
  const activity = failure instanceof ActivityFailure ? failure.activityType : undefined;
  const causeText = (e: Error | undefined) => (e?.cause instanceof Error ? e.cause.message : undefined);
  let type: string;
  let message: string;
  if (inner instanceof CancelledFailure) {
    type = 'Cancelled';
    message = activity ? `the run was cancelled while ${activity} was running` : 'the run was cancelled';
  } else if (inner instanceof TimeoutFailure) {
    type = `Timeout:${inner.timeoutType}`;
    message = `${activity ?? 'an activity'} timed out (${inner.timeoutType})${retryText(failure)}`;
  } else if (inner instanceof ApplicationFailure) {
    type = inner.type ?? 'Error';
    message = inner.message;
  } else {
    type = inner?.name ?? 'Error';
    message = inner?.message ?? failure.message;
  }
  const cause = causeText(inner);
  return { type, message, ...(cause ? { cause } : {}) };
}

function retryText(failure: TemporalFailure): string {
  if (!(failure instanceof ActivityFailure)) return '';
  if (failure.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED) return ', after every retry';
  if (failure.retryState === RetryState.TIMEOUT) return ', and its retry window closed';
  return '';
}

/**
 * The failed activity's attempt count: from the failure's details when the activity put it there
 * (`{ activityAttempt }`, Temporal's attempt number; not Glue's own `attempt` of a job run), or the
 * profile's limit when every attempt was used; otherwise unknown.
 */
function attemptOf(failure: TemporalFailure): number | undefined {
  if (!(failure instanceof ActivityFailure)) return undefined;
  const inner = failure.cause;
  if (inner instanceof ApplicationFailure) {
    for (const detail of inner.details ?? []) {
      const attempt = (detail as { activityAttempt?: unknown } | null)?.activityAttempt;
      if (typeof attempt === 'number') return attempt;
    }
  }
  if (failure.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED) return maximumAttemptsOf(failure.activityType);
  return undefined;
}

/** One line for the UI's "current details": what the run is doing now. */
function showDetails(run: PipelineRun): void {
  const running = run.progress.steps.filter((s) => s.status === 'running');
  const done = run.progress.steps.filter((s) => s.status === 'succeeded').length;
  const total = run.progress.steps.filter((s) => s.status !== 'skipped').length;
  const ids = (s: StepProgress) =>
    [s.awsIds.jobRunId, ...(s.awsIds.statementIds ?? [])].filter((x): x is string => !!x).join(', ');
  const now = running.length
    ? running.map((s) => `**${s.step}** running${ids(s) ? ` (${ids(s)})` : ''}`).join('; ')
    : `**${run.progress.status}**`;
  setCurrentDetails(`${run.spec.name} / ${run.batch.id}: ${now}. ${done} of ${total} steps done.`);
}
