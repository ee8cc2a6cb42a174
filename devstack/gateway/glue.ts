/**
 * The Glue operations the gateway serves (`X-Amz-Target: AWSGlue.<Op>`): job runs and crawler runs.
 * Every other Glue operation (CreateJob, GetJob, CreateCrawler, the catalog...) goes to moto.
 */
import type { GlueCrawlers } from './glue-crawlers';
import type { GlueJobRuns } from './glue-job-runs';
import type { AwsJsonCall, JsonService } from './router';

export function glueService(jobRuns: GlueJobRuns, crawlers: GlueCrawlers): JsonService {
  const jobRunOperations = new Set(jobRuns.operations);
  const crawlerOperations = new Set(crawlers.operations);
  return {
    serves: (operation) => jobRunOperations.has(operation) || crawlerOperations.has(operation),
    handle: (call: AwsJsonCall) =>
      jobRunOperations.has(call.operation) ? jobRuns.handle(call) : crawlers.handle(call),
  };
}
