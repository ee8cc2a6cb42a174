/**
 * Crawler activities: join the crawl in progress when it covers the batch's objects, or start the next one (after
 * waiting out a crawl that began before the objects were in place), and wait until LastCrawl describes that crawl or
 * a later one, stopping it when the workflow cancels the wait of a crawl this run started. The calls and the state
 * tables are in src/aws/crawlers.ts; here are the Temporal decisions.
 */
import type { Crawler, CrawlerHistory, GlueClient } from '@aws-sdk/client-glue';
import { log } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { awsErrorName, errorText } from '../aws/errors';
import {
  crawlerIdle,
  crawlerTableCounts,
  crawlFailedDetails,
  crawlOutcome,
  getCrawler,
  runningCrawl,
  startCrawler as startCrawl,
  stopCrawler,
} from '../aws/crawlers';
import { listKeys } from '../aws/s3-objects';
import { crawlFailed, invalidInput } from '../workflow-safe/failures';
import type { CrawlJoin } from '../workflow-safe/pipeline';
import { failureOf, viaAws } from './errors';
import { callAfterCancel, cancelRequested, pollAfterCancel, pollUntilSettled } from './poll';
import type {
  CrawlResult,
  GluelineActivities,
  StartCrawlerInput,
  StartCrawlerResult,
  StoppedOnCancel,
  WaitForCrawlerInput,
} from '../workflow-safe/activity-types';
import type { ActivityDeps } from './deps';

/**
 * When the batch's objects under `data` were all written, on AWS's clock: the latest LastModified, plus the second
 * S3 rounds LastModified down by. A crawl that started at or after it sees them. Undefined when there are none.
 */
async function dataInPlaceBy(deps: ActivityDeps, region: string, data: StartCrawlerInput['data']) {
  if (!data) return undefined;
  const objects = await viaAws(() => listKeys(deps.aws.s3(region), { region, ...data }));
  const latest = Math.max(...objects.map((o) => o.lastModified?.getTime() ?? Number.NaN).filter((t) => !isNaN(t)));
  return Number.isFinite(latest) ? latest + 1000 : undefined;
}

/** A crawl in progress, and whether it covers the batch: the why, or undefined. */
function coverage(
  running: CrawlerHistory & { StartTime: Date },
  inPlaceBy: number | undefined,
  firstSeen: string | undefined | null,
): string | undefined {
  const started = running.StartTime.toISOString();
  if (inPlaceBy !== undefined && running.StartTime.getTime() >= inPlaceBy) {
    const inPlace = new Date(inPlaceBy).toISOString();
    return `crawl ${running.CrawlId} started ${started}, after the batch's objects were in place (${inPlace})`;
  }
  // Crawls of one crawler run one at a time: a crawl other than the one running at our first look (made once our
  // objects were in place) started after that look, so it sees them, whatever the timestamps' rounding says.
  if (firstSeen !== null && running.CrawlId !== firstSeen) {
    const then = firstSeen === undefined ? 'idle' : `crawling (crawl ${firstSeen})`;
    return `crawl ${running.CrawlId} started ${started}, after this run found the crawler ${then} with the batch's objects in place`;
  }
  return undefined;
}

/**
 * Joins the crawl in progress when it covers the batch's objects; otherwise waits for it to end and starts the next
 * crawl, or joins that one when another run started it first (CrawlerRunningException): every run waiting then
 * shares it. Only AWS's clock is compared (LastModified against the crawl's StartTime).
 */
async function startCrawler(deps: ActivityDeps, input: StartCrawlerInput): Promise<StartCrawlerResult> {
  const { aws, workerShutdown } = deps;
  const { region, crawlerName } = input;
  const glue = aws.glue(region);
  const inPlaceBy = await dataInPlaceBy(deps, region, input.data);
  const dataInPlace = inPlaceBy === undefined ? {} : { dataInPlaceBy: new Date(inPlaceBy).toISOString() };
  /** The crawl running at our first look: null before it, undefined when the crawler was idle. */
  let firstSeen: string | undefined | null = null;
  let waitedForRunningCrawl = false;
  for (;;) {
    const crawler = await viaAws(() => getCrawler(glue, region, crawlerName));
    if (crawlerIdle(crawler) === 'wait') {
      const running = await viaAws(() => runningCrawl(glue, region, crawlerName));
      const reason = running && coverage(running, inPlaceBy, firstSeen);
      if (running && reason) {
        log.info('joining the crawl in progress: it covers the batch', { crawlerName, reason });
        const crawl: CrawlJoin = { how: 'joined', ...crawlOf(running), ...dataInPlace, reason };
        return { crawlerName, startedAfter: crawl.crawlStartedAt!, clock: 'aws', waitedForRunningCrawl, crawl };
      }
      if (firstSeen === null && running) firstSeen = running.CrawlId;
      waitedForRunningCrawl = true;
      log.info('the crawl in progress started before the batch was in place; waiting for it to end', {
        crawlerName,
        state: crawler.State,
        crawlId: running?.CrawlId,
      });
      // Until that crawl is over: the crawler idle, or LastCrawl changed (another run may have started the next
      // crawl at once, which this run then looks at).
      const lastStart = crawler.LastCrawl?.StartTime?.getTime();
      await pollUntilSettled({
        workerShutdown,
        policy: input.polling,
        check: () => getCrawler(glue, region, crawlerName),
        outcome: (c) => (c.LastCrawl?.StartTime?.getTime() !== lastStart ? 'done' : crawlerIdle(c)),
        describe: (c) => ({ crawlerName, waitingForOtherCrawl: true, state: c.State }),
      });
      continue;
    }
    if (firstSeen === null) firstSeen = undefined;
    try {
      await startCrawl(glue, region, crawlerName);
    } catch (err) {
      // Another run started a crawl since our look: it covers us, and the next look joins it.
      if (awsErrorName(err) === 'CrawlerRunningException') continue;
      throw failureOf(err);
    }
    // The crawl before ours ended before our look: ours is the first to start after its StartTime.
    const previous = crawler.LastCrawl?.StartTime?.getTime() ?? -1;
    const reason = waitedForRunningCrawl
      ? "started the next crawl: the one in progress began before the batch's objects were in place"
      : 'started a crawl: none was in progress';
    const crawl: CrawlJoin = { how: 'started', ...(await ourCrawl(glue, input)), ...dataInPlace, reason };
    return {
      crawlerName,
      startedAfter: new Date(previous + 1).toISOString(),
      clock: 'aws',
      waitedForRunningCrawl,
      crawl,
    };
  }
}

const crawlOf = (c: CrawlerHistory & { StartTime: Date }) => ({
  ...(c.CrawlId ? { crawlId: c.CrawlId } : {}),
  crawlStartedAt: c.StartTime.toISOString(),
});

/** The crawl we just started, for the report; nothing when Glue does not list it yet (the report must not fail it). */
async function ourCrawl(glue: GlueClient, { region, crawlerName }: StartCrawlerInput) {
  try {
    const running = await runningCrawl(glue, region, crawlerName);
    return running ? crawlOf(running) : {};
  } catch (err) {
    log.warn('ListCrawls failed; reporting the crawl without its id', { crawlerName, error: errorText(err) });
    return {};
  }
}

/** How much earlier than a worker-clock startedAfter (inputs of workers before shared crawls) LastCrawl may start. */
const LEGACY_CLOCK_SKEW_MS = 2_000;

/**
 * Waits until LastCrawl is the awaited crawl or a later one. A joined crawl that ended CANCELLED (stopped by the run
 * that started it, or by hand) does not fail the batch: with `data` the wait starts or joins another and waits for it.
 */
async function waitForCrawler(deps: ActivityDeps, input: WaitForCrawlerInput): Promise<CrawlResult> {
  const { region, crawlerName } = input;
  const given = Date.parse(input.startedAfter);
  if (Number.isNaN(given)) {
    throw invalidInput(`startedAfter '${input.startedAfter}' is not an ISO time: pass startCrawler's result`);
  }
  let awaited = { startedAfterMs: input.clock === 'aws' ? given : given - LEGACY_CLOCK_SKEW_MS };
  let stopOnCancel = input.stopOnCancel !== false;
  let replaced: CrawlJoin | undefined;
  const polls = { count: 0 };
  for (;;) {
    const { crawler, outcome } = await settleCrawl(deps, input, awaited.startedAfterMs, stopOnCancel, polls);
    if (outcome === 'done') {
      const counts = await tableCounts(deps.aws.glue(region), crawlerName);
      return {
        crawlerName,
        status: 'SUCCEEDED',
        polls: polls.count,
        ...counts,
        ...(replaced ? { crawl: replaced } : {}),
      };
    }
    if (stopOnCancel || !input.data || crawler.LastCrawl?.Status !== 'CANCELLED') {
      throw crawlFailed(crawlFailedDetails(region, { ...crawler, Name: crawlerName }), crawler.LastCrawl?.StartTime);
    }
    log.warn('the shared crawl was stopped before it ended; starting or joining another', { crawlerName });
    const again = await startCrawler(deps, { region, crawlerName, polling: input.polling, data: input.data });
    awaited = { startedAfterMs: Date.parse(again.startedAfter) };
    stopOnCancel = again.crawl?.how === 'started';
    replaced = again.crawl && { ...again.crawl, reason: `the crawl joined was stopped; ${again.crawl.reason}` };
  }
}

/**
 * Polls until the crawler is idle with the awaited crawl (or a later one) as LastCrawl. When the workflow cancels
 * the wait, stops that crawl if `stopOnCancel` (a crawl this run started; a shared one is left to its runs).
 */
async function settleCrawl(
  deps: ActivityDeps,
  input: WaitForCrawlerInput,
  startedAfterMs: number,
  stopOnCancel: boolean,
  polls: { count: number },
): Promise<{ crawler: Crawler; outcome: 'done' | 'fail' }> {
  const { region, crawlerName } = input;
  const glue = deps.aws.glue(region);
  try {
    const { value, outcome } = await pollUntilSettled({
      workerShutdown: deps.workerShutdown,
      policy: input.polling,
      check: () => (polls.count++, getCrawler(glue, region, crawlerName)),
      resumeKey: `crawler ${crawlerName} crawl after ${startedAfterMs}`,
      outcome: (c) => crawlOutcome(c, startedAfterMs),
      describe: (c) => ({ crawlerName, state: c.State, lastCrawl: c.LastCrawl?.Status }),
    });
    return { crawler: value, outcome };
  } catch (err) {
    if (!cancelRequested(err) || !stopOnCancel) throw err;
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
    return { crawler: ended, outcome: 'done' };
  }
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
