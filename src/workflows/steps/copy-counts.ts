/** The counts a verified copy records on its step (stage-raw, replicate-curated). */
import type { CopyObjectsResult } from '../../workflow-safe/activity-types';
import type { StepProgress } from '../../workflow-safe/pipeline';

/** A copyObjects result as step counts. */
export function copyCounts(r: CopyObjectsResult): StepProgress['counts'] {
  return {
    objects: r.objects,
    bytes: r.bytes,
    copied: r.copied,
    skippedIdentical: r.skipped,
    verifiedKeys: r.verifiedKeys,
  };
}
