/** The replicate-curated step. */
import { ApplicationFailure, CancellationScope, log } from '@temporalio/workflow';
import { FailureType } from '../../workflow-safe/failures';
import {
  curatedBatchPrefix,
  manifestKey,
  primaryRegion,
  quarantineBatchPrefix,
  rawBatchPrefix,
  replicaRegions,
  s3Uri,
} from '../../workflow-safe/layout';
import type { StepProgress } from '../../workflow-safe/pipeline';
import type { PipelineRun } from '../run-state';
import { copyCounts } from './copy-counts';
import { readManifest } from './transform';

/**
 * replicate-curated: copies the Parquet the manifest lists (and the manifest itself, last) from the
 * primary curated bucket to every replica's, verified. If the copy fails, the unverified copies are
 * deleted, manifest first, so no replica looks complete.
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
  const replicas = replicaRegions(spec);
  if (replicas.length === 0) return;
  const mKey = manifestKey(spec, batch);
  const dataKeys = manifest.outputFiles.map((f) => f.key);
  const destinations = replicas.map((r) => ({ region: r.region, bucket: r.curatedBucket }));
  p.awsIds.buckets = destinations.map((d) => d.bucket);
  try {
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
  } catch (err) {
    await CancellationScope.nonCancellable(async () => {
      const cleanups = await Promise.allSettled(
        destinations.map((d) =>
          run.activities.awsCalls.deleteObjects.executeWithOptions(
            { summary: `replicate-curated: delete the unverified copy in s3://${d.bucket}` },
            // The manifest first: without it a partial copy never looks complete.
            [{ region: d.region, bucket: d.bucket, keys: [mKey, ...dataKeys] }],
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
