/**
 * What it takes to name the exact `glueline step` command that runs a step run (pipelineStep) again: the spec
 * file as the person gave it, which `glueline step` records in the run's memo (the input holds the spec's
 * content, not its path), and the batch's own flags, from the input's batch. Only non-secret values: a path, a
 * directory and the batch's S3 location. Pure: the workflow builds the failure notice's part with it, and the
 * CLI reads the same memo.
 */
import { primaryRegion } from './layout';
import type { Batch } from './run-input';
import type { PipelineSpec } from './spec';

/** The memo key under which `glueline step` records how it was started ({@link StepStartedWith}). */
export const STARTED_WITH_MEMO = 'startedWith';

/** How `glueline step` was started: what a command that runs the step again needs besides the batch. */
export interface StepStartedWith {
  /** `--spec` as given on the command line. */
  specFile: string;
  /** The directory the command ran in, when `specFile` is relative to it. @default - `specFile` is absolute */
  directory?: string;
}

/** Above this many keys the command would be a wall of `--key` flags: the notice says how many instead. */
export const MAX_KEY_FLAGS = 20;

/** The notice's part for a step run: what `glueline step` needs to run it again ({@link FailureNotice}). */
export interface StepRerun {
  /** @default - unknown (a run started without `glueline step`, or before it recorded it): a placeholder */
  startedWith?: StepStartedWith;
  /** The batch's flags (`--prefix P`, `--key K`..., `--source-bucket B`, `--source-region R`), unquoted words. */
  batchFlags: string[];
  /** Set instead of `--key` flags when the batch names more than {@link MAX_KEY_FLAGS} keys: how many. */
  keyCount?: number;
}

/**
 * The flags that name `batch` as `glueline step` (and `run`) take them: the source bucket and region only when they
 * are not the defaults (the primary raw bucket, its region).
 */
export function batchFlags(spec: PipelineSpec, batch: Batch): Pick<StepRerun, 'batchFlags' | 'keyCount'> {
  const { source } = batch;
  const where = [
    ...(source.bucket !== primaryRegion(spec).rawBucket ? ['--source-bucket', source.bucket] : []),
    ...(source.region ? ['--source-region', source.region] : []),
  ];
  if (source.prefix !== undefined) return { batchFlags: ['--prefix', source.prefix, ...where] };
  const keys = source.keys ?? [];
  if (keys.length > MAX_KEY_FLAGS) return { batchFlags: where, keyCount: keys.length };
  return { batchFlags: [...keys.flatMap((k) => ['--key', k]), ...where] };
}

/** The memo's {@link StepStartedWith}, when it holds one that can be used; anything else is unknown. */
export function startedWithOf(memo: Record<string, unknown> | undefined): StepStartedWith | undefined {
  const value = memo?.[STARTED_WITH_MEMO] as Partial<StepStartedWith> | undefined;
  if (typeof value?.specFile !== 'string' || value.specFile === '') return undefined;
  const directory = typeof value.directory === 'string' && value.directory !== '' ? value.directory : undefined;
  return { specFile: value.specFile, ...(directory ? { directory } : {}) };
}
