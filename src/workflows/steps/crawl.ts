/** The crawl-raw and crawl-curated@R steps: one crawl, with the region, crawler and batch prefix each takes from the spec. */
import { curatedBatchPrefix, primaryRegion, rawBatchPrefix, regionSpec } from '../../workflow-safe/layout';
import type { StepProgress } from '../../workflow-safe/pipeline';
import { showDetails } from '../details';
import type { PipelineRun, StepBody } from '../run-state';

/** Where the batch's objects are that a crawler must see. */
type CrawledData = { bucket: string; prefix: string };

/**
 * crawl-raw and crawl-curated@R: join the crawl in progress when it covers the batch's objects, or start the next
 * one, then wait for it. Which crawl, and why, goes in the step's progress.
 */
async function crawl(run: PipelineRun, p: StepProgress, region: string, crawlerName: string, data: CrawledData) {
  const polling = run.spec.polling.crawler;
  p.awsIds.crawlerName = crawlerName;
  const started = await run.activities.awsWaits.startCrawler.executeWithOptions(
    { summary: `${p.step}: start crawler ${crawlerName} in ${region}` },
    [{ region, crawlerName, polling, data }],
  );
  if (started.crawl) {
    p.crawl = started.crawl;
    showDetails(run);
  }
  const result = await run.activities.awsWaits.waitForCrawler.executeWithOptions(
    { summary: `${p.step}: wait for crawler ${crawlerName} in ${region}` },
    [
      {
        region,
        crawlerName,
        startedAfter: started.startedAfter,
        ...(started.clock ? { clock: started.clock } : {}),
        // A crawl other runs share is theirs too: cancelling this run must not stop it.
        ...(started.crawl ? { stopOnCancel: started.crawl.how === 'started', data } : {}),
        polling,
      },
    ],
  );
  if (result.crawl) p.crawl = result.crawl;
  Object.assign(p.counts, {
    polls: result.polls,
    ...(result.tablesCreated !== undefined ? { tablesCreated: result.tablesCreated } : {}),
    ...(result.tablesUpdated !== undefined ? { tablesUpdated: result.tablesUpdated } : {}),
    ...(result.tablesDeleted !== undefined ? { tablesDeleted: result.tablesDeleted } : {}),
  });
}

/** crawl-raw: the raw crawler, in the primary region, over the batch's CSVs in the raw bucket. */
export const crawlRaw: StepBody = (p, run) => {
  const primary = primaryRegion(run.spec);
  const data = { bucket: primary.rawBucket, prefix: rawBatchPrefix(run.spec, run.batch) };
  return crawl(run, p, primary.region, run.spec.raw.crawler, data);
};

/** crawl-curated@R: region R's curated crawler, over the batch's Parquet in R's curated bucket. */
export const crawlCurated: StepBody = (p, run) => {
  const r = regionSpec(run.spec, p.region!);
  const data = { bucket: r.curatedBucket, prefix: curatedBatchPrefix(run.spec, run.batch) };
  return crawl(run, p, r.region, r.curatedCrawler, data);
};
