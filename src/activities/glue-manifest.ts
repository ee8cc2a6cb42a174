/**
 * The Glue job's manifest, read by the activities: whole (readManifest), or the output files it lists, checked
 * against the count and checksum the workflow read (an input that names the manifest instead of every key).
 */
import { z } from 'zod';
import { awsErrorName } from '../aws/errors';
import { getObjectText } from '../aws/s3-objects';
import { manifestInvalid } from '../workflow-safe/failures';
import type { GlueManifest } from '../workflow-safe/layout';
import { keysChecksum, type ManifestFiles } from '../workflow-safe/manifest-files';
import type { ActivityDeps } from './deps';
import { cancellable, s3Calls } from './s3-calls';

/** Reads and checks the Glue job's manifest. */
export async function readManifest(
  deps: ActivityDeps,
  input: { region: string; bucket: string; key: string },
): Promise<GlueManifest> {
  const { aws } = deps;
  const text = await s3Calls(async () => {
    try {
      return await getObjectText(aws.s3(input.region), input, cancellable());
    } catch (err) {
      if (awsErrorName(err) !== 'NoSuchKey') throw err;
      throw manifestInvalid(
        input,
        'does not exist: the job writes it last when it succeeds, so it did not finish; see its logs in CloudWatch',
      );
    }
  });
  return parseManifest(input, text);
}

/**
 * The output files of the manifest `ref` names, when they are still the ones the workflow read (count and checksum
 * of their keys); a manifest rewritten since (another run of the batch) is ManifestInvalid.
 */
export async function manifestOutputFiles(
  deps: ActivityDeps,
  ref: ManifestFiles,
): Promise<{ key: string; bytes: number }[]> {
  const files = (await readManifest(deps, ref)).outputFiles;
  const checksum = keysChecksum(files.map((f) => f.key));
  if (files.length !== ref.count || checksum !== ref.checksum) {
    throw manifestInvalid(
      ref,
      `lists ${files.length} output files (checksum ${checksum}), not the ${ref.count} (checksum ${ref.checksum}) ` +
        'this run read: another run of the batch rewrote it. Run the batch again from transform ' +
        '(npm run glueline -- redrive <workflowId> --from transform)',
    );
  }
  return files;
}

/** The manifest's text as a GlueManifest, or ManifestInvalid naming what is wrong with it. */
function parseManifest(where: { region: string; bucket: string; key: string }, text: string): GlueManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw manifestInvalid(where, `is not JSON (${(err as Error).message}): the job's manifest writer is broken`);
  }
  const parsed = GlueManifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'} ${i.message}`)
      .join('; ');
    throw manifestInvalid(where, `does not have the expected shape: ${problems}`);
  }
  return parsed.data;
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
