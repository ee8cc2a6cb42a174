/**
 * What one run is asked to do besides the spec: the batch of data, and which steps run. With the spec
 * it makes the csvPipeline workflow's input.
 */
import { z } from 'zod';
import { awsRegion, bucketName, PipelineSpec, s3Prefix } from './spec';

/** An S3 object key a batch may name (and stage-raw may find under a batch's prefix). */
export const objectKey = z
  .string()
  .min(1)
  .max(1024)
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  .regex(/^(?!\/)(?!(.*\/)?\.\.(\/|$))[^\u0000-\u001f]*[^/]$/, {
    error: "is not a usable object key: no leading '/', no '..' segment, no control characters, no trailing '/'",
  });

/** The keys of a key-list object: a JSON array of keys, as many as `count`, with the checksum of keysChecksum. */
export const KeyListKeys = z.array(objectKey).min(1);

/**
 * A key-list object: where it is, how many keys it lists and their checksum (manifest-files.ts keysChecksum), and
 * the directory every key shares (what stage-raw strips from each key).
 */
export const KeyListRef = z.strictObject({
  region: awsRegion,
  bucket: bucketName,
  key: objectKey,
  count: z.number().int().positive(),
  checksum: z.string().regex(/^[0-9a-f]{16}$/, { error: 'is not a key-list checksum: 16 hex digits' }),
  directory: z.string().max(1024),
});
export type KeyListRef = z.infer<typeof KeyListRef>;

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
      keys: z.array(objectKey).min(1).optional(),
      /**
       * Or the keys listed in a key-list object (what `glueline run` writes for a list longer than
       * KEY_LIST_BOUND), so the input stays small however many keys the batch has.
       */
      keyList: KeyListRef.optional(),
      /** Or every object under this prefix. */
      prefix: s3Prefix.optional(),
    })
    .refine((s) => [s.keys, s.prefix, s.keyList].filter((v) => v !== undefined).length === 1, {
      error: 'needs exactly one of keys, keyList or prefix',
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
