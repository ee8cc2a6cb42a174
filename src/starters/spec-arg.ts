/** The `--spec <file>` flag every command shares. */
import { type PipelineSpec } from '../workflow-safe/spec';
import { SpecValidationError } from '../workflow-safe/validation';
import { UsageError } from './common';
import { loadSpecFile } from './spec-file';

/** Loads and validates the spec file; a missing flag, an unreadable file or a bad field is a usage error. */
export function loadSpec(file: string | undefined): PipelineSpec {
  if (!file) throw new UsageError('--spec is required: the pipeline spec file, e.g. --spec specs/local-sales.yaml');
  try {
    return loadSpecFile(file);
  } catch (err) {
    if (err instanceof SpecValidationError) throw new UsageError(err.message);
    throw new UsageError((err as Error).message);
  }
}
