/** The transform step, and the manifest read that transform and replicate-curated share. */
import { patched } from '@temporalio/workflow';
import type { GlueJobRunResult, StartGlueJobRunResult } from '../../workflow-safe/activity-types';
import { FailureType } from '../../workflow-safe/failures';
import { judgeRows } from '../../workflow-safe/guards';
import {
  glueJobArguments,
  manifestKey,
  primaryRegion,
  quarantineBatchPrefix,
  s3Uri,
  quarantineUri,
} from '../../workflow-safe/layout';
import { summarizeManifest, type ManifestSummary } from '../../workflow-safe/manifest-files';
import type { StepProgress } from '../../workflow-safe/pipeline';
import { glueWaitOptions } from '../activity-options';
import { showDetails } from '../details';
import { applyLimits } from '../guards';
import { mayStillRun, startMayHaveRun, stopLeftover, STOP_BY_RUN_TAG_PATCH } from '../leftovers';
import type { PipelineRun } from '../run-state';

/**
 * Marks histories whose manifest reads return a summary (readManifestSummary: counts, and the output files named by
 * the manifest's location, ETag, count and checksum) instead of the whole manifest, whose file lists pass
 * Temporal's payload limits for a job of some 20,000 files. Older runs replay readManifest, summarized here.
 */
export const MANIFEST_SUMMARY_PATCH = 'transform-manifest-summary';

/**
 * transform: starts the Glue job run (tagged with this run, so a retry finds it instead of starting a
 * second), waits for it with heartbeats (cancelling the workflow stops it), then reads its manifest. If
 * the wait ends without the run having ended (a cancellation while the wait was not running, a timeout),
 * the run is stopped before the step fails.
 */
export async function transform(p: StepProgress, run: PipelineRun): Promise<void> {
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
  const manifest = await readManifest(p, run);
  const rejected = quarantineUri(spec, batch, manifest);
  if (rejected) p.awsIds.quarantineUri = rejected;
  const rejectsAt = s3Uri(primaryRegion(spec).curatedBucket, quarantineBatchPrefix(spec, batch));
  applyLimits(p, run, judgeRows(spec.thresholds, manifest, rejectsAt));
}

/**
 * Reads the job's manifest from the primary curated bucket and records its counts on the step: its summary, or (in a
 * history from before {@link MANIFEST_SUMMARY_PATCH}) the whole manifest, kept for replicate-curated's older paths.
 */
export async function readManifest(p: StepProgress, run: PipelineRun): Promise<ManifestSummary> {
  const { spec, batch } = run;
  const primary = primaryRegion(spec);
  const where = { region: primary.region, bucket: primary.curatedBucket, key: manifestKey(spec, batch) };
  const options = { summary: `${p.step}: read the Glue job's manifest for batch ${batch.id}` };
  let manifest: ManifestSummary;
  if (patched(MANIFEST_SUMMARY_PATCH)) {
    manifest = await run.activities.awsCalls.readManifestSummary.executeWithOptions(options, [where]);
  } else {
    const whole = await run.activities.awsCalls.readManifest.executeWithOptions(options, [where]);
    run.wholeManifest = whole;
    manifest = summarizeManifest(where, whole);
  }
  run.manifest = manifest;
  Object.assign(p.counts, {
    rowsIn: manifest.rowsIn,
    rowsOut: manifest.rowsOut,
    rowsRejected: manifest.rowsRejected,
    ...(manifest.rowsDropped !== undefined ? { rowsDropped: manifest.rowsDropped } : {}),
    outputFiles: manifest.files.count,
    outputBytes: manifest.outputBytes,
  });
  return manifest;
}
