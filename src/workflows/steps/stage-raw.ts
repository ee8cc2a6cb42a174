/** The stage-raw step. */
import type { ObjectSet } from '../../workflow-safe/activity-types';
import { judgeFiles } from '../../workflow-safe/guards';
import { commonDirectory, primaryRegion, rawBatchPrefix } from '../../workflow-safe/layout';
import { applyLimits } from '../guards';
import type { StepProgress } from '../../workflow-safe/pipeline';
import type { PipelineRun } from '../run-state';
import { copyCounts } from './copy-counts';

/** stage-raw: copies the batch's CSVs into the primary raw bucket (and every region's, when the spec asks). */
export async function stageRaw(p: StepProgress, run: PipelineRun): Promise<void> {
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
        sourceIs: 'batch',
        concurrency: spec.copy.concurrency,
      },
    ],
  );
  Object.assign(p.counts, copyCounts(result));
  const from = `s3://${source.bucket}/${source.keys ? commonDirectory(source.keys) : source.prefix!}`;
  applyLimits(p, run, judgeFiles(spec.thresholds, result.objects, from));
}
