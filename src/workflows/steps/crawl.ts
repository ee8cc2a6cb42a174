/** The crawl-raw and crawl-curated@R steps: one crawl, with the region and crawler each takes from the spec. */
import { primaryRegion } from '../../workflow-safe/layout';
import type { StepProgress } from '../../workflow-safe/pipeline';
import type { PipelineRun, StepBody } from '../run-state';

/** crawl-raw and crawl-curated@R: start the crawler (joining one already running), then wait for it. */
async function crawl(run: PipelineRun, p: StepProgress, region: string, crawlerName: string): Promise<void> {
  const polling = run.spec.polling.crawler;
  p.awsIds.crawlerName = crawlerName;
  const started = await run.activities.awsWaits.startCrawler.executeWithOptions(
    { summary: `${p.step}: start crawler ${crawlerName} in ${region}` },
    [{ region, crawlerName, polling }],
  );
  const result = await run.activities.awsWaits.waitForCrawler.executeWithOptions(
    { summary: `${p.step}: wait for crawler ${crawlerName} in ${region}` },
    [{ region, crawlerName, startedAfter: started.startedAfter, polling }],
  );
  Object.assign(p.counts, {
    polls: result.polls,
    ...(result.tablesCreated !== undefined ? { tablesCreated: result.tablesCreated } : {}),
    ...(result.tablesUpdated !== undefined ? { tablesUpdated: result.tablesUpdated } : {}),
    ...(result.tablesDeleted !== undefined ? { tablesDeleted: result.tablesDeleted } : {}),
  });
}

/** crawl-raw: the raw crawler, in the primary region. */
export const crawlRaw: StepBody = (p, run) => crawl(run, p, primaryRegion(run.spec).region, run.spec.raw.crawler);

/** crawl-curated@R: region R's curated crawler. */
export const crawlCurated: StepBody = (p, run) =>
  crawl(run, p, p.region!, run.spec.regions.find((r) => r.region === p.region)!.curatedCrawler);
