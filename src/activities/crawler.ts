/**
 * Crawler activities: start our own crawl (after waiting out one already running: that one is not
 * ours), and wait until LastCrawl describes our crawl, stopping it when the workflow cancels the wait. The calls and the state tables are in
 * src/aws/crawlers.ts; here are the Temporal decisions.
 */
import type { Crawler, GlueClient } from '@aws-sdk/client-glue';
import { log } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { awsErrorName, errorText } from '../aws/errors';
import {
  crawlerIdle,
  crawlerTableCounts,
  crawlFailedDetails,
  crawlOutcome,
  getCrawler,
  startCrawler as startCrawl,
  stopCrawler,
} from '../aws/crawlers';
import { crawlFailed, invalidInput } from '../workflow-safe/failures';
import { failureOf, viaAws } from './errors';
import { callAfterCancel, cancelRequested, heartbeatingSleep, pollAfterCancel, pollUntilSettled } from './poll';
import type {
  CrawlResult,
  GluelineActivities,
  StartCrawlerInput,
  StartCrawlerResult,
  StoppedOnCancel,
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
  let crawler: Crawler;
  let outcome: 'done' | 'fail';
  let polls = 0;
  try {
    ({ value: crawler, outcome } = await pollUntilSettled({
      workerShutdown,
      policy: input.polling,
      check: () => (polls++, getCrawler(glue, region, crawlerName)),
      outcome: (c) => crawlOutcome(c, startedAfterMs),
      describe: (c) => ({ crawlerName, state: c.State, lastCrawl: c.LastCrawl?.Status }),
    }));
  } catch (err) {
    if (!cancelRequested(err)) throw err;
    const ended = await stopCrawlAfterCancel(glue, input);
    if (!ended) throw err;
    if (crawlOutcome(ended, startedAfterMs) !== 'done') {
      // Tells the workflow the crawl is over, so it does not stop it again.
      const finalState = ended.LastCrawl?.Status ?? ended.State ?? 'READY';
      const details: StoppedOnCancel = { stoppedId: crawlerName, finalState };
      throw new CancelledFailure(`the wait was cancelled and the crawl of crawler ${crawlerName} ended ${finalState}`, [
        details,
      ]);
    }
    // The crawl had succeeded before the stop reached it: its tables stand, and the wait says so.
    log.warn('the cancel came after the crawl had succeeded', { crawlerName });
    crawler = ended;
    outcome = 'done';
  }
  if (outcome === 'fail') {
    throw crawlFailed(crawlFailedDetails(region, { ...crawler, Name: crawlerName }), crawler.LastCrawl?.StartTime);
  }
  return { crawlerName, status: 'SUCCEEDED', polls, ...(await tableCounts(glue, crawlerName)) };
}

/** How long a cancelled wait keeps trying StopCrawler, and then waits for the crawler to be READY, before reporting. */
const STOP_WAIT_MS = 5 * 60_000;

/**
 * Stops the crawl the cancelled wait was watching (StopCrawler, tried again while throttled), and waits (bounded)
 * until the crawler is READY again. @returns the crawler then, or undefined when it could not be seen idle
 */
async function stopCrawlAfterCancel(glue: GlueClient, input: WaitForCrawlerInput): Promise<Crawler | undefined> {
  const { region, crawlerName } = input;
  try {
    await callAfterCancel(() => stopCrawler(glue, region, crawlerName), input.polling, STOP_WAIT_MS);
  } catch (err) {
    log.warn('StopCrawler failed; the crawl may still run', { crawlerName, error: errorText(err) });
    return undefined;
  }
  const last = await pollAfterCancel(
    () => getCrawler(glue, region, crawlerName),
    (c) => crawlerIdle(c) === 'done',
    input.polling,
    STOP_WAIT_MS,
  );
  log.info('crawl stopped after cancellation', { crawlerName, state: last?.State, lastCrawl: last?.LastCrawl?.Status });
  return last && crawlerIdle(last) === 'done' ? last : undefined;
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
