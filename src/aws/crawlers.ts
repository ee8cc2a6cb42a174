/**
 * Glue crawlers: the calls (look, start, table counts) and the state tables that say whether a crawler
 * is idle and how its last crawl went. Every call that fails throws an {@link AwsCallError}.
 */
import {
  GetCrawlerCommand,
  GetCrawlerMetricsCommand,
  ListCrawlsCommand,
  StartCrawlerCommand,
  StopCrawlerCommand,
  type Crawler,
  type CrawlerHistory,
  type CrawlerState,
  type GlueClient,
  type LastCrawlStatus,
} from '@aws-sdk/client-glue';
import type { CrawlFailedDetails } from '../workflow-safe/failures';
import { awsCall, awsErrorName, missingField, type AwsTarget } from './errors';
import type { Outcome } from './waiter';

/** A crawler is idle only when READY; then LastCrawl says how the crawl went. */
export const CRAWLER_STATE_OUTCOME = {
  READY: 'done',
  RUNNING: 'wait',
  STOPPING: 'wait',
} as const satisfies Record<CrawlerState, Outcome>;

/** How the last crawl ended. CANCELLED is a failure: the catalog was not refreshed. */
export const LAST_CRAWL_OUTCOME = {
  SUCCEEDED: 'done',
  FAILED: 'fail',
  CANCELLED: 'fail',
} as const satisfies Record<LastCrawlStatus, Outcome>;

/** A crawler is idle only when READY; then LastCrawl says how the crawl went. */
export const crawlerIdle = (crawler: Crawler): Outcome =>
  CRAWLER_STATE_OUTCOME[crawler.State as CrawlerState] ?? 'wait';

/**
 * The outcome of the first crawl that started at or after `startedAfterMs` (AWS's clock, as LastCrawl.StartTime
 * is); 'wait' until the crawler is idle and LastCrawl is that crawl or a later one.
 */
export function crawlOutcome(crawler: Crawler, startedAfterMs: number): Outcome {
  if (crawlerIdle(crawler) === 'wait') return 'wait';
  const last = crawler.LastCrawl;
  if (!last?.StartTime || last.StartTime.getTime() < startedAfterMs) return 'wait';
  return LAST_CRAWL_OUTCOME[last.Status as LastCrawlStatus] ?? 'wait';
}

/** What a crawl that ended badly tells: Glue's ErrorMessage and where its logs are. */
export function crawlFailedDetails(region: string, crawler: Crawler & { Name: string }): CrawlFailedDetails {
  const last = crawler.LastCrawl;
  return {
    region,
    crawlerName: crawler.Name,
    status: last?.Status,
    errorMessage: last?.ErrorMessage,
    logGroup: last?.LogGroup ?? '/aws-glue/crawlers',
    logStream: last?.LogStream ?? crawler.Name,
    messagePrefix: last?.MessagePrefix,
  };
}

const crawlerTarget = (operation: string, region: string, crawlerName: string): AwsTarget => ({
  operation,
  resource: `crawler ${crawlerName}`,
  region,
  notFoundFix: 'run npm run provision, or fix the crawler name in the spec',
});

/** One GetCrawler. */
export async function getCrawler(glue: GlueClient, region: string, crawlerName: string): Promise<Crawler> {
  const target = crawlerTarget('GetCrawler', region, crawlerName);
  const out = await awsCall(target, () => glue.send(new GetCrawlerCommand({ Name: crawlerName })));
  if (!out.Crawler) throw missingField(target, 'Crawler');
  return out.Crawler;
}

/**
 * The crawler's crawl in progress, as ListCrawls shows it (its CrawlId and StartTime on AWS's clock), or undefined
 * when Glue lists none running.
 */
export async function runningCrawl(
  glue: GlueClient,
  region: string,
  crawlerName: string,
): Promise<(CrawlerHistory & { StartTime: Date }) | undefined> {
  const out = await awsCall(crawlerTarget('ListCrawls', region, crawlerName), () =>
    glue.send(
      new ListCrawlsCommand({
        CrawlerName: crawlerName,
        Filters: [{ FieldName: 'STATE', FilterOperator: 'EQ', FieldValue: 'RUNNING' }],
      }),
    ),
  );
  const running = (out.Crawls ?? []).filter((c): c is CrawlerHistory & { StartTime: Date } => !!c.StartTime);
  return running.sort((a, b) => b.StartTime.getTime() - a.StartTime.getTime())[0];
}

/** StartCrawler. CrawlerRunningException comes out as is, for the caller to wait for that crawl. */
export async function startCrawler(glue: GlueClient, region: string, crawlerName: string): Promise<void> {
  await awsCall(crawlerTarget('StartCrawler', region, crawlerName), () =>
    glue.send(new StartCrawlerCommand({ Name: crawlerName })),
  );
}

/** StopCrawler's refusals that mean there is no crawl left to stop. */
const NOTHING_TO_STOP = new Set(['CrawlerNotRunningException', 'CrawlerStoppingException']);

/** StopCrawler. A crawler that is not crawling, or already stopping, is left as it is. */
export async function stopCrawler(glue: GlueClient, region: string, crawlerName: string): Promise<void> {
  try {
    await awsCall(crawlerTarget('StopCrawler', region, crawlerName), () =>
      glue.send(new StopCrawlerCommand({ Name: crawlerName })),
    );
  } catch (err) {
    if (!NOTHING_TO_STOP.has(awsErrorName(err) ?? '')) throw err;
  }
}

/** Tables the last crawl created, updated and deleted; nothing when the metrics do not list the crawler. */
export async function crawlerTableCounts(glue: GlueClient, crawlerName: string) {
  const out = await glue.send(new GetCrawlerMetricsCommand({ CrawlerNameList: [crawlerName] }));
  const m = out.CrawlerMetricsList?.find((x) => x.CrawlerName === crawlerName);
  if (!m) return {};
  return { tablesCreated: m.TablesCreated, tablesUpdated: m.TablesUpdated, tablesDeleted: m.TablesDeleted };
}
