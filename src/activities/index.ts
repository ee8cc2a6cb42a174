/** All of glueline's activities, built from injected clients and settings. */
import { createCrawlerActivities } from './crawler';
import { createGlueActivities } from './glue';
import { createNotifyActivities } from './notify';
import { createRedshiftActivities } from './redshift';
import { createS3Activities } from './s3';
import type { ActivityDeps, GluelineActivities } from './types';

/** Every activity of {@link GluelineActivities}, for `Worker.create({ activities })`. */
export function createActivities(deps: ActivityDeps): GluelineActivities {
  return {
    ...createS3Activities(deps),
    ...createGlueActivities(deps),
    ...createCrawlerActivities(deps),
    ...createRedshiftActivities(deps),
    ...createNotifyActivities(deps),
  };
}
