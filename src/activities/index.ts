/** All of glueline's activities, built from injected clients and settings. */
import { createCrawlerActivities } from './crawler';
import { reportingAttempts } from './errors';
import { createFreshnessActivities } from './freshness';
import { createGlueActivities } from './glue';
import { createNotifyActivities } from './notify';
import { createRedshiftActivities } from './redshift';
import { createS3Activities } from './s3';
import type { GluelineActivities } from '../workflow-safe/activity-types';
import type { ActivityDeps } from './deps';

/**
 * Every activity of {@link GluelineActivities}, for `Worker.create({ activities })`. Each failure they
 * raise carries the attempt it failed on (`{ activityAttempt }` in its details) for the failure notice.
 */
export function createActivities(deps: ActivityDeps): GluelineActivities {
  return reportingAttempts({
    ...createS3Activities(deps),
    ...createGlueActivities(deps),
    ...createCrawlerActivities(deps),
    ...createRedshiftActivities(deps),
    ...createNotifyActivities(deps),
    ...createFreshnessActivities(),
  });
}
