/**
 * The Glue job's manifest, read by the activities: as a summary for the workflow (readManifestSummary: counts, and
 * the output files named by the manifest, its ETag and a checksum of their keys), whole for runs whose history read
 * it whole (readManifest), or the output files it lists for the activities that copy, keep or list them, checked
 * against the summary the workflow holds (ETag, count and checksum).
 */
import { z } from 'zod';
import { manifestInvalid } from '../workflow-safe/failures';
import type { GlueManifest } from '../workflow-safe/layout';
import {
  summarizeManifest,
  type ManifestFiles,
  type ManifestLocation,
  type ManifestSummary,
} from '../workflow-safe/manifest-files';
import type { ActivityDeps } from './deps';
import { checkListed, problemText, readJsonObject, type ObjectProblem } from './listed-object';

/** Reads and checks the Glue job's manifest, whole (kept for runs whose history read it so). */
export async function readManifest(deps: ActivityDeps, input: ManifestLocation): Promise<GlueManifest> {
  return (await readJsonObject(deps, input, GlueManifestSchema, manifestProblem(input))).value;
}

/** Reads and checks the Glue job's manifest, and returns what the workflow keeps of it, with the ETag it read. */
export async function readManifestSummary(deps: ActivityDeps, input: ManifestLocation): Promise<ManifestSummary> {
  const where = { region: input.region, bucket: input.bucket, key: input.key };
  const { value, ...readAt } = await readJsonObject(deps, where, GlueManifestSchema, manifestProblem(where));
  return summarizeManifest({ ...where, ...readAt }, value);
}

/**
 * The output files of the manifest `ref` names, when it is still the one the workflow read (its ETag, when the
 * workflow has it, and the count and checksum of the keys); a manifest rewritten since (another run of the batch)
 * is ManifestInvalid naming it and the redrive that fixes it.
 */
export async function manifestOutputFiles(
  deps: ActivityDeps,
  ref: ManifestFiles,
): Promise<{ key: string; bytes: number }[]> {
  const fail = manifestProblem(ref);
  const files = (await readJsonObject(deps, ref, GlueManifestSchema, fail)).value.outputFiles;
  checkListed(
    files.map((f) => f.key),
    ref,
    fail,
  );
  return files;
}

/** The ManifestInvalid failure of each problem, with its fix. */
function manifestProblem(where: ManifestLocation) {
  const details = { region: where.region, bucket: where.bucket, key: where.key };
  const words = { shape: 'of the expected shape', items: 'output files', expected: 'this run read' };
  const fixes: Record<ObjectProblem['kind'], string> = {
    missing: 'the job writes it last when it succeeds, so it did not finish; see its logs in CloudWatch',
    'not-json': "the job's manifest writer is broken",
    shape: "the job's manifest writer is broken (glue/README.md gives the manifest's fields)",
    rewritten: 'another run of the batch rewrote it',
    'other-keys': 'another run of the batch rewrote it',
  };
  const redrive = 'Run the batch again from transform (npm run glueline -- redrive <workflowId> --from transform)';
  return (problem: ObjectProblem) => {
    const rewritten = problem.kind === 'rewritten' || problem.kind === 'other-keys';
    return manifestInvalid(
      details,
      `${problemText(problem, words)}: ${fixes[problem.kind]}${rewritten ? `. ${redrive}` : ''}`,
    );
  };
}

const fileEntry = z.object({ key: z.string().min(1), bytes: z.number().int().nonnegative() });
const count = z.number().int().nonnegative();
/** The manifest's shape, checked field by field so the failure names the field. */
const GlueManifestSchema = z.object({
  batchId: z.string().min(1),
  inputFiles: z.array(z.string()),
  rowsIn: count,
  rowsOut: count,
  rowsRejected: count,
  rowsDropped: z.number().int().optional(),
  outputFiles: z.array(fileEntry),
  quarantineFiles: z.array(fileEntry),
}) satisfies z.ZodType<GlueManifest>;
