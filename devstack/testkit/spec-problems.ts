/** What spec validation says of a value, for the unit tests of the spec's sections. */
import type { z } from 'zod';
import { PipelineSpec } from '../../src/workflow-safe/spec';
import { parseOrExplain, SpecValidationError } from '../../src/workflow-safe/validation';

/**
 * The problems `parseOrExplain` lists for `value` (none when it is valid); any error other than a
 * SpecValidationError is thrown on, so a test never mistakes a crash for a refusal.
 */
export function validationProblems(value: unknown, schema: z.ZodType = PipelineSpec, what = 'spec'): string[] {
  try {
    parseOrExplain(schema, value, what);
  } catch (err) {
    if (err instanceof SpecValidationError) return err.problems;
    throw err;
  }
  return [];
}
