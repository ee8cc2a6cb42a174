/** The stage-raw step. */
import { patched } from '@temporalio/workflow';
import type { ObjectSet } from '../../workflow-safe/activity-types';
import { judgeFiles } from '../../workflow-safe/guards';
import { commonDirectory, primaryRegion, rawBatchPrefix } from '../../workflow-safe/layout';
import { applyLimits } from '../guards';
import type { StepProgress } from '../../workflow-safe/pipeline';
import type { PipelineRun } from '../run-state';
import { copyCounts } from './copy-counts';

/**
 * A batch whose input names a key-list object (longer lists than KEY_LIST_BOUND) is copied from the keys the object
 * lists: the copy's input names the object, so no payload grows with the keys. Inputs with keys or a prefix (every
 * run before) issue the same commands as before.
 */
export const KEY_LIST_PATCH = 'stage-raw-reads-a-key-list-object';

/** stage-raw: copies the batch's CSVs into the primary raw bucket (and every region's, when the spec asks). */
export async function stageRaw(p: StepProgress, run: PipelineRun): Promise<void> {
  const { spec, batch } = run;
  const primary = primaryRegion(spec);
  const { source } = batch;
  const regions = spec.raw.stageToAllRegions ? spec.regions : [primary];
  const destinations = regions.map((r) => ({ region: r.region, bucket: r.rawBucket }));
  // Only an input with a key list (never one of a run before this patch) takes the new branch.
  const keyList = source.keyList && patched(KEY_LIST_PATCH) ? source.keyList : undefined;
  const objects: ObjectSet = {
    region: source.region ?? primary.region,
    bucket: source.bucket,
    ...(keyList ? { keyList } : source.keys ? { keys: source.keys } : { prefix: source.prefix! }),
  };
  const directory = keyList ? keyList.directory : source.keys ? commonDirectory(source.keys) : source.prefix!;
  p.awsIds.buckets = destinations.map((d) => d.bucket);
  const result = await run.activities.awsWaits.copyObjects.executeWithOptions(
    { summary: `stage-raw: copy the batch's CSVs from s3://${source.bucket} to ${destinations.length} raw bucket(s)` },
    [
      {
        source: objects,
        destinations,
        rename: {
          stripPrefix: directory,
          addPrefix: rawBatchPrefix(spec, batch),
        },
        requireObjects: true,
        sourceIs: 'batch',
        concurrency: spec.copy.concurrency,
      },
    ],
  );
  Object.assign(p.counts, copyCounts(result));
  const from = `s3://${source.bucket}/${directory}`;
  applyLimits(p, run, judgeFiles(spec.thresholds, result.objects, from));
}
