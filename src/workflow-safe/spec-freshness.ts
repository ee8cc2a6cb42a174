/**
 * The spec's `freshness` section: when a batch is expected to have completed, either in every window of a fixed
 * length (`every: 6h`) or each day by a time of day in an IANA time zone (`by: '07:00'`, `timeZone`). A watch run
 * by Temporal (src/workflows/freshness-watch.ts, set up by `glueline freshness`) notifies when a window passes with
 * no batch completed, and once more when data arrives again. Kept beside spec.ts, which imports it; the deadline
 * arithmetic is in ./freshness.ts.
 */
import { z } from 'zod';

/** Whether `zone` is a time zone this runtime knows (IANA names such as `Europe/Berlin`, and `UTC`). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `6h`, `30m`, `45s` as milliseconds; undefined when it is not such a duration. */
export function windowMs(every: string): number | undefined {
  const m = /^(\d+)(s|m|h)$/.exec(every);
  if (!m) return undefined;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
}

/** The shortest window: shorter ones would watch a pipeline more often than a batch can run. */
const MIN_WINDOW_MS = 10_000;
/** The longest `every` window: a week (use `by` for a daily deadline). */
const MAX_WINDOW_MS = 7 * 24 * 3_600_000;

/**
 * When a batch is expected: in every window of `every` (windows aligned to 1970-01-01T00:00Z, so `6h` means by
 * 00:00, 06:00, 12:00 and 18:00 UTC), or each day by `by` in `timeZone`. Give exactly one of `every` and `by`.
 * @default - no watch
 */
export const Freshness = z
  .strictObject({
    every: z
      .string()
      .refine((s) => {
        const ms = windowMs(s);
        return ms !== undefined && ms >= MIN_WINDOW_MS && ms <= MAX_WINDOW_MS;
      }, 'is not a window length: use a number and a unit, h, m or s (10s to 168h), e.g. 6h')
      .optional()
      .describe(
        'A batch must complete in every window of this length, windows aligned to midnight UTC (6h: by 00:00, ' +
          '06:00, 12:00 and 18:00 UTC). h, m or s; seconds are for trying it out.',
      )
      .meta({ examples: ['6h'] }),
    by: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'is not a time of day: use HH:MM, 24-hour, e.g. 07:00' })
      .optional()
      .describe('A batch must complete each day by this time (HH:MM, 24-hour) in timeZone.')
      .meta({ examples: ['07:00'] }),
    timeZone: z
      .string()
      .refine(isTimeZone, 'is not a time zone: use an IANA name, e.g. Europe/Berlin, America/New_York or UTC')
      .default('UTC')
      .describe("The IANA time zone of `by` (daylight saving time included); `every` windows are UTC's.")
      .meta({ examples: ['Europe/Berlin'] }),
  })
  .refine((f) => (f.every === undefined) !== (f.by === undefined), {
    error: 'needs exactly one of every (a window length, e.g. 6h) and by (a time of day, e.g. 07:00)',
  });
export type Freshness = z.output<typeof Freshness>;
export type FreshnessInput = z.input<typeof Freshness>;
