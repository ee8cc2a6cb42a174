/**
 * The Glue operations the gateway serves (`X-Amz-Target: AWSGlue.<Op>`): job runs, crawler runs and the
 * definition updates moto lacks. Every other Glue operation (CreateJob, GetJob, CreateCrawler, the
 * catalog...) goes to moto.
 */
import type { AwsJsonCall, JsonService } from './router';

/** One part of the Glue service: the operations it serves, and how. */
export interface GluePart {
  readonly operations: readonly string[];
  handle(call: AwsJsonCall): Promise<unknown>;
}

export function glueService(...parts: GluePart[]): JsonService {
  const owners = new Map(parts.flatMap((part) => part.operations.map((operation) => [operation, part] as const)));
  return {
    serves: (operation) => owners.has(operation),
    handle: (call: AwsJsonCall) => owners.get(call.operation)!.handle(call),
  };
}
