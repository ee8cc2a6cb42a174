/**
 * The spec's polling settings (`polling.glueJob`, `polling.crawler`, `polling.redshift`): how long a wait sleeps
 * between two looks at an AWS operation. The schedule itself is computed in src/aws/waiter.ts; this module is the
 * schema and the defaults only (pure, safe in workflow code).
 */
import { z } from 'zod';

const intervalMs = z.number().int().min(100).max(3_600_000);

/**
 * How long to wait between polls of a long-running AWS operation. Set `elapsedRatio` (each wait a fraction of
 * the time already waited: the defaults) or `backoffCoefficient` (each wait the previous one times a factor).
 */
export const PollPolicy = z
  .strictObject({
    initialIntervalMs: intervalMs.describe('The first wait after the first look, and the shortest wait, in ms.'),
    maxIntervalMs: intervalMs.describe('The longest wait between two polls, in ms.'),
    elapsedRatio: z
      .number()
      .min(0.01)
      .max(10)
      .optional()
      .meta({
        description:
          'Backs off in proportion to the time already waited: each wait is this fraction of the time since the ' +
          'operation started (at least initialIntervalMs, at most maxIntervalMs), so an operation found done is ' +
          'found at most this fraction of its duration late. Set this or backoffCoefficient.',
        examples: [0.25],
      }),
    backoffCoefficient: z
      .number()
      .min(1)
      .max(10)
      .optional()
      .meta({
        description: 'Each wait is the previous one times this, capped at maxIntervalMs. Set this or elapsedRatio.',
        examples: [1.5],
      }),
    expectedDurationFrom: z
      .enum(['history', 'none'])
      .optional()
      .describe(
        "Glue job waits only: `history` reads the job's recent SUCCEEDED runs (one GetJobRuns call) and polls on " +
          'the schedule above until the shortest of them is nearly over, then every nearEndIntervalMs until the ' +
          'longest is over, then backs off again; a job without successful runs gets the schedule above. `none` ' +
          'never reads the history. Left out: none (the default polling.glueJob sets history).',
      ),
    nearEndIntervalMs: intervalMs.optional().meta({
      description:
        'The wait between polls near the expected end (with expectedDurationFrom history), in ms. Left out: a ' +
        'sixtieth of the longest recent run, between 1 and 8 seconds.',
      examples: [5000],
    }),
  })
  .refine((p) => (p.elapsedRatio === undefined) !== (p.backoffCoefficient === undefined), {
    error:
      'needs exactly one of elapsedRatio (each wait a fraction of the time already waited, e.g. 0.5) and ' +
      'backoffCoefficient (each wait the previous one times a factor, e.g. 1.5): set one, remove the other',
  })
  .refine((p) => p.maxIntervalMs >= p.initialIntervalMs, {
    error: 'has maxIntervalMs below initialIntervalMs: make maxIntervalMs at least initialIntervalMs',
    path: ['maxIntervalMs'],
  });
export type PollPolicy = z.infer<typeof PollPolicy>;

/**
 * Polling defaults: look early, then back off in proportion to the time already waited, capped per kind by how
 * long the operation usually takes and its API's rate limits. Measured in bench/p3-polling.ts and
 * bench/p9-end-to-end.ts.
 */
export const DEFAULT_POLLING = {
  /**
   * Glue job runs take minutes and GetJobRun is rate-limited per account: from the job's own history when it
   * has successful runs (found within seconds of the end a ten-minute run, in under 20 calls), otherwise a
   * wait of half the time waited, from 2 s up to a minute.
   */
  glueJob: { initialIntervalMs: 2_000, maxIntervalMs: 60_000, elapsedRatio: 0.5, expectedDurationFrom: 'history' },
  /** Crawls take from seconds (small prefixes) to many minutes: found at most a quarter of their time late. */
  crawler: { initialIntervalMs: 1_000, maxIntervalMs: 30_000, elapsedRatio: 0.25 },
  /** Refresh SQL takes a fraction of a second to minutes; DescribeStatement is cheap. */
  redshift: { initialIntervalMs: 250, maxIntervalMs: 15_000, elapsedRatio: 0.25 },
} as const satisfies Record<string, PollPolicy>;
