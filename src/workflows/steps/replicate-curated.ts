/** The replicate-curated step. */
import { CancellationScope, log, patched } from '@temporalio/workflow';
import type { CopyObjectsResult, ObjectSet } from '../../workflow-safe/activity-types';
import { noSourceObjects } from '../../workflow-safe/failures';
import {
  copyManifestKey,
  curatedBatchPrefix,
  manifestKey,
  primaryRegion,
  quarantineBatchPrefix,
  rawBatchPrefix,
  replicaRegions,
  s3Uri,
} from '../../workflow-safe/layout';
import type { ManifestFiles, ManifestSummary } from '../../workflow-safe/manifest-files';
import type { StepProgress } from '../../workflow-safe/pipeline';
import type { PipelineRun } from '../run-state';
import { copyCounts } from './copy-counts';
import { MANIFEST_SUMMARY_PATCH, readManifest } from './transform';

/**
 * Marks histories whose replicate-curated leaves each replica's batch prefix holding exactly the manifest's
 * files and writes a Redshift COPY manifest per region; runs started before it replay the plain copy.
 */
export const EXACT_CURATED_PATCH = 'curated-prefix-holds-exactly-the-manifest';

/**
 * Marks histories whose replicate-curated names the Glue manifest's files by the manifest (ManifestFiles: where,
 * count, checksum) in its copy, delete and COPY-manifest inputs instead of listing every key, so no input grows
 * with the files (10,000 keys are about 1 MB of Temporal's 2 MB payload limit). Older runs replay the key lists.
 */
export const MANIFEST_FILES_PATCH = 'replicate-curated-names-the-manifest-not-its-keys';

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
  if (manifest.files.count === 0) {
    throw noSourceObjects(
      `glue job ${spec.transform.jobName} wrote no Parquet for batch ${batch.id} ` +
        `(manifest ${s3Uri(primary.curatedBucket, manifestKey(spec, batch))}: ${manifest.rowsIn} rows in, ` +
        `${manifest.rowsRejected} rejected): check the CSVs under ${s3Uri(primary.rawBucket, rawBatchPrefix(spec, batch))} ` +
        `and the rejected rows under ${s3Uri(primary.curatedBucket, quarantineBatchPrefix(spec, batch))}`,
      {
        region: primary.region,
        bucket: primary.curatedBucket,
        prefix: curatedBatchPrefix(spec, batch),
        keys: undefined,
      },
    );
  }
  const exact = patched(EXACT_CURATED_PATCH);
  const byManifest = exact && patched(MANIFEST_FILES_PATCH);
  const files = byManifest ? manifest.files : undefined;
  // The paths before MANIFEST_FILES_PATCH list the keys: their histories read the manifest whole.
  const listed = byManifest ? [] : wholeManifestFiles(run);
  const replicas = replicaRegions(spec);
  if (replicas.length === 0) {
    if (exact) await writeCopyManifests(p, run, listed, [primary.region], files);
    return;
  }
  const mKey = manifestKey(spec, batch);
  const cKey = copyManifestKey(spec, batch);
  const dataKeys = listed.map((f) => f.key);
  const destinations = replicas.map((r) => ({ region: r.region, bucket: r.curatedBucket }));
  p.awsIds.buckets = destinations.map((d) => d.bucket);
  try {
    if (exact) await replicateExactly(p, run, { manifest, listed, files }, destinations);
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
      const deleteCopy = (d: { region: string; bucket: string }, set: Omit<ObjectSet, 'region' | 'bucket'>) =>
        run.activities.awsCalls.deleteObjects.executeWithOptions(
          { summary: `replicate-curated: delete the unverified copy in s3://${d.bucket}` },
          [{ region: d.region, bucket: d.bucket, ...set }],
        );
      const cleanups = await Promise.allSettled(
        destinations.map(async (d) => {
          // The manifests first: without them a partial copy never looks complete, nor is loaded.
          if (!files) return deleteCopy(d, { keys: exact ? [mKey, cKey, ...dataKeys] : [mKey, ...dataKeys] });
          // Apart, so that a manifest rewritten since (the data delete then fails) still leaves none.
          await deleteCopy(d, { keys: [mKey, cKey] });
          return deleteCopy(d, { manifestFiles: files });
        }),
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
  { manifest, listed, files }: { manifest: ManifestSummary; listed: ListedFiles; files: ManifestFiles | undefined },
  destinations: { region: string; bucket: string }[],
): Promise<void> {
  const { spec, batch } = run;
  const primary = primaryRegion(spec);
  const mKey = manifestKey(spec, batch);
  const prefix = curatedBatchPrefix(spec, batch);
  const dataKeys = listed.map((f) => f.key);
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
  const copy = (which: Pick<ObjectSet, 'keys' | 'manifestFiles'>, summary: string) =>
    run.activities.awsWaits.copyObjects.executeWithOptions({ summary }, [
      {
        source: { region: primary.region, bucket: primary.curatedBucket, ...which },
        destinations,
        requireObjects: true,
        concurrency: spec.copy.concurrency,
      },
    ]);
  const data = await copy(
    files ? { manifestFiles: files } : { keys: dataKeys },
    `replicate-curated: copy ${manifest.files.count} Parquet file(s) of ${prefix} to ${regions}`,
  );
  // Spark names its files anew each run: what else is under the prefix is an earlier run's, and a COPY, a
  // crawler or Spectrum reading the prefix would take it for this batch's.
  const stale = await eachReplica((d) =>
    run.activities.awsCalls.deleteObjects.executeWithOptions(
      { summary: `replicate-curated: delete earlier runs' files under s3://${d.bucket}/${prefix}` },
      [
        {
          region: d.region,
          bucket: d.bucket,
          prefix,
          ...(files ? { exceptManifestFiles: files } : { except: dataKeys }),
        },
      ],
    ),
  );
  await writeCopyManifests(p, run, listed, [primary.region, ...destinations.map((d) => d.region)], files);
  const last = await copy(
    { keys: [mKey] },
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
  listed: ListedFiles,
  regions: string[],
  files: ManifestFiles | undefined,
): Promise<void> {
  const { spec, batch } = run;
  if (!spec.redshift) return;
  const targets = spec.regions.filter((r) => r.redshift && regions.includes(r.region));
  const written = await Promise.all(
    targets.map((r) =>
      run.activities.awsCalls.writeCopyManifest.executeWithOptions(
        { summary: `replicate-curated: write the COPY manifest of batch ${batch.id} in s3://${r.curatedBucket}` },
        [
          {
            region: r.region,
            bucket: r.curatedBucket,
            key: copyManifestKey(spec, batch),
            ...(files ? { manifestFiles: files } : { files: listed }),
          },
        ],
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

/** The output files, listed: what the paths before {@link MANIFEST_FILES_PATCH} put in their inputs. */
type ListedFiles = { key: string; bytes: number }[];

/**
 * The whole manifest's output files, for a history from before {@link MANIFEST_FILES_PATCH}: such a history is also
 * from before {@link MANIFEST_SUMMARY_PATCH}, so it read the manifest whole.
 */
function wholeManifestFiles(run: PipelineRun): ListedFiles {
  if (!run.wholeManifest) {
    throw new Error(
      `this history has replicate-curated without the ${MANIFEST_FILES_PATCH} marker but read the manifest as a ` +
        `summary (${MANIFEST_SUMMARY_PATCH}): it was made by workers of other versions; replay it with the version ` +
        'that made it',
    );
  }
  return run.wholeManifest.outputFiles;
}
