/**
 * What one run is asked to do besides the spec: the batch of data, and which steps run. With the spec
 * it makes the csvPipeline workflow's input.
 */
import { z } from 'zod';
import { awsRegion, bucketName, PipelineSpec, s3Prefix } from './spec';

/** The data one run processes. */
export const Batch = z.strictObject({
  /** Names the batch in the workflow id and the S3 layout. */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
    error: 'is not a usable batch id: use 1-63 letters, digits, . _ and -, starting with a letter or digit',
  }),
  /** Where the batch's CSVs are now. */
  source: z
    .strictObject({
      /** @default - the primary region */
      region: awsRegion.optional(),
      bucket: bucketName,
      /** The CSV objects, by key. */
      keys: z
        .array(
          z
            .string()
            .min(1)
            .max(1024)
            // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
            .regex(/^(?!\/)(?!(.*\/)?\.\.(\/|$))[^\u0000-\u001f]*[^/]$/, {
              error:
                "is not a usable object key: no leading '/', no '..' segment, no control characters, no trailing '/'",
            }),
        )
        .min(1)
        .optional(),
      /** Or every object under this prefix. */
      prefix: s3Prefix.optional(),
    })
    .refine((s) => (s.keys === undefined) !== (s.prefix === undefined), {
      error: 'needs exactly one of keys or prefix',
    }),
});
export type Batch = z.infer<typeof Batch>;

/** The pipeline's steps, in order. */
export const STEPS = [
  'stage-raw',
  'crawl-raw',
  'transform',
  'replicate-curated',
  'crawl-curated',
  'redshift-refresh',
] as const;
export const StepName = z.enum(STEPS, { error: `is not a step: use one of ${STEPS.join(', ')}` });
export type StepName = z.infer<typeof StepName>;

/** Which steps a run does: the redrive and run-alone cases. */
export const RunOptions = z
  .strictObject({
    /** Skip every step before this one. @default 'stage-raw' */
    startAt: StepName.optional(),
    /** Skip every step after this one. @default 'redshift-refresh' */
    stopAfter: StepName.optional(),
    /** Skip these steps. @default [] */
    skip: z.array(StepName).default([]),
  })
  .refine((o) => !o.startAt || !o.stopAfter || STEPS.indexOf(o.startAt) <= STEPS.indexOf(o.stopAfter), {
    error: 'startAt comes after stopAfter: no step would run',
  });
export type RunOptions = z.output<typeof RunOptions>;

/** The csvPipeline workflow's input. */
export const PipelineInput = z.strictObject({
  spec: PipelineSpec,
  batch: Batch,
  options: RunOptions.optional(),
});
export type PipelineInputRaw = z.input<typeof PipelineInput>;
export type PipelineInput = z.output<typeof PipelineInput>;
