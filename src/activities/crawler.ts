/**
 * Crawler activities: start our own crawl (after waiting out one already running: that one is not
 * ours), and wait until LastCrawl describes our crawl. The calls and the state tables are in
 * src/aws/crawlers.ts; here are the Temporal decisions.
 */
import type { GlueClient } from '@aws-sdk/client-glue';
import { log } from '@temporalio/activity';
import { awsErrorName, errorText } from '../aws/errors';
import {
  crawlerIdle,
  crawlerTableCounts,
  crawlFailedDetails,
  crawlOutcome,
  getCrawler,
  startCrawler as startCrawl,
} from '../aws/crawlers';
import { crawlFailed, invalidInput } from '../workflow-safe/failures';
import { failureOf, viaAws } from './errors';
import { heartbeatingSleep, pollUntilSettled } from './poll';
import type {
  CrawlResult,
  GluelineActivities,
  StartCrawlerInput,
  StartCrawlerResult,
  WaitForCrawlerInput,
} from '../workflow-safe/activity-types';
import type { ActivityDeps } from './deps';

async function startCrawler(deps: ActivityDeps, input: StartCrawlerInput): Promise<StartCrawlerResult> {
  const { aws, workerShutdown } = deps;
  const { region, crawlerName } = input;
  const glue = aws.glue(region);
  let waitedForRunningCrawl = false;
  for (;;) {
    const crawler = await viaAws(() => getCrawler(glue, region, crawlerName));
    if (crawlerIdle(crawler) === 'wait') {
      // Someone else's crawl: it may predate our data, so it cannot stand for ours. Let it end, then start ours.
      waitedForRunningCrawl = true;
      log.info('crawler is busy; waiting for its crawl to end before starting ours', {
        crawlerName,
        state: crawler.State,
      });
      await pollUntilSettled({
        workerShutdown,
        policy: input.polling,
        check: () => getCrawler(glue, region, crawlerName),
        outcome: crawlerIdle,
        describe: (c) => ({ crawlerName, waitingForOtherCrawl: true, state: c.State }),
      });
    }
    const startedAfter = new Date().toISOString();
    try {
      await startCrawl(glue, region, crawlerName);
      return { crawlerName, startedAfter, waitedForRunningCrawl };
    } catch (err) {
      if (awsErrorName(err) !== 'CrawlerRunningException') throw failureOf(err);
      // Another crawl started between our look and our start: wait for that one too.
      waitedForRunningCrawl = true;
      await heartbeatingSleep(
        input.polling.initialIntervalMs,
        { crawlerName, waitingForOtherCrawl: true },
        workerShutdown,
      );
    }
  }
}

async function waitForCrawler(deps: ActivityDeps, input: WaitForCrawlerInput): Promise<CrawlResult> {
  const { aws, workerShutdown } = deps;
  const { region, crawlerName } = input;
  const glue = aws.glue(region);
  const startedAfterMs = Date.parse(input.startedAfter);
  if (Number.isNaN(startedAfterMs)) {
    throw invalidInput(`startedAfter '${input.startedAfter}' is not an ISO time: pass startCrawler's result`);
  }
  const {
    value: crawler,
    outcome,
    polls,
  } = await pollUntilSettled({
    workerShutdown,
    policy: input.polling,
    check: () => getCrawler(glue, region, crawlerName),
    outcome: (c) => crawlOutcome(c, startedAfterMs),
    describe: (c) => ({ crawlerName, state: c.State, lastCrawl: c.LastCrawl?.Status }),
  });
  if (outcome === 'fail') {
    throw crawlFailed(crawlFailedDetails(region, { ...crawler, Name: crawlerName }), crawler.LastCrawl?.StartTime);
  }
  return { crawlerName, status: 'SUCCEEDED', polls, ...(await tableCounts(glue, crawlerName)) };
}

/** The table counts of the crawl, or nothing: the counts are a report, and must not fail a good crawl. */
async function tableCounts(glue: GlueClient, crawlerName: string) {
  try {
    return await crawlerTableCounts(glue, crawlerName);
  } catch (err) {
    log.warn('GetCrawlerMetrics failed; reporting the crawl without table counts', {
      crawlerName,
      error: errorText(err),
    });
    return {};
  }
}
/** The crawler activities, over the clients and settings in `deps`. */
export function createCrawlerActivities(
  deps: ActivityDeps,
): Pick<GluelineActivities, 'startCrawler' | 'waitForCrawler'> {
  return {
    startCrawler: (input) => startCrawler(deps, input),
    waitForCrawler: (input) => waitForCrawler(deps, input),
  };
}
