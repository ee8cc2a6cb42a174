/**
 * Crawler activities: start our own crawl (after waiting out one already running: that one is not
 * ours), and wait until LastCrawl describes our crawl, stopping it when the workflow cancels the wait.
 */
import {
  GetCrawlerCommand,
  GetCrawlerMetricsCommand,
  StartCrawlerCommand,
  StopCrawlerCommand,
  type Crawler,
  type CrawlerState,
  type LastCrawlStatus,
} from '@aws-sdk/client-glue';
import { log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { FailureType } from '../workflow-safe/failures';
import { awsCall, awsErrorName, awsFailure, isTemporalFailure, type AwsTarget } from './errors';
import {
  callAfterCancel,
  cancelRequested,
  heartbeatingSleep,
  pollAfterCancel,
  pollUntilSettled,
  type Outcome,
} from './poll';
import type {
  CrawlResult,
  GluelineActivities,
  StartCrawlerInput,
  StartCrawlerResult,
  StoppedOnCancel,
  WaitForCrawlerInput,
} from '../workflow-safe/activity-types';
import type { ActivityDeps } from './deps';

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

/**
 * How much earlier than startedAfter our crawl's LastCrawl.StartTime may be (AWS's clock against the
 * worker's). Small on purpose: the crawl before ours ended before we started it, so it started earlier still.
 */
export const CLOCK_SKEW_MS = 2_000;

/** How long a cancelled wait keeps trying StopCrawler, and then waits for the crawler to be READY, before reporting. */
const STOP_WAIT_MS = 5 * 60_000;

/** StopCrawler's answers that mean there is no crawl left to stop. */
const NOTHING_TO_STOP = new Set(['CrawlerNotRunningException', 'CrawlerStoppingException']);

const crawlerIdle = (crawler: Crawler): Outcome => CRAWLER_STATE_OUTCOME[crawler.State as CrawlerState] ?? 'wait';

/** The outcome of the crawl that started at or after `startedAfterMs`; 'wait' until the crawler shows it. */
export function crawlOutcome(crawler: Crawler, startedAfterMs: number): Outcome {
  if (crawlerIdle(crawler) === 'wait') return 'wait';
  const last = crawler.LastCrawl;
  if (!last?.StartTime || last.StartTime.getTime() < startedAfterMs - CLOCK_SKEW_MS) return 'wait';
  return LAST_CRAWL_OUTCOME[last.Status as LastCrawlStatus] ?? 'wait';
}

export function createCrawlerActivities(
  deps: ActivityDeps,
): Pick<GluelineActivities, 'startCrawler' | 'waitForCrawler'> {
  const { aws } = deps;
  const target = (operation: string, region: string, crawlerName: string): AwsTarget => ({
    operation,
    resource: `crawler ${crawlerName}`,
    region,
    notFoundFix: 'run npm run provision, or fix the crawler name in the spec',
  });
  const getCrawler = async (region: string, crawlerName: string): Promise<Crawler> => {
    const out = await awsCall(target('GetCrawler', region, crawlerName), () =>
      aws.glue(region).send(new GetCrawlerCommand({ Name: crawlerName })),
    );
    if (!out.Crawler) throw ApplicationFailure.retryable(`GetCrawler returned no Crawler for ${crawlerName}`);
    return out.Crawler;
  };

  return {
    async startCrawler(input: StartCrawlerInput): Promise<StartCrawlerResult> {
      const { region, crawlerName } = input;
      let waitedForRunningCrawl = false;
      for (;;) {
        const crawler = await getCrawler(region, crawlerName);
        if (crawlerIdle(crawler) === 'wait') {
          // Someone else's crawl: it may predate our data, so it cannot stand for ours. Let it end, then start ours.
          waitedForRunningCrawl = true;
          log.info('crawler is busy; waiting for its crawl to end before starting ours', {
            crawlerName,
            state: crawler.State,
          });
          await pollUntilSettled({
            workerShutdown: deps.workerShutdown,
            policy: input.polling,
            check: () => getCrawler(region, crawlerName),
            outcome: crawlerIdle,
            describe: (c) => ({ crawlerName, waitingForOtherCrawl: true, state: c.State }),
          });
        }
        const startedAfter = new Date().toISOString();
        try {
          await aws.glue(region).send(new StartCrawlerCommand({ Name: crawlerName }));
          return { crawlerName, startedAfter, waitedForRunningCrawl };
        } catch (err) {
          if (isTemporalFailure(err)) throw err;
          if (awsErrorName(err) !== 'CrawlerRunningException') {
            throw awsFailure(err, target('StartCrawler', region, crawlerName));
          }
          // Another crawl started between our look and our start: wait for that one too.
          waitedForRunningCrawl = true;
          await heartbeatingSleep(
            input.polling.initialIntervalMs,
            { crawlerName, waitingForOtherCrawl: true },
            deps.workerShutdown,
          );
        }
      }
    },

    async waitForCrawler(input: WaitForCrawlerInput): Promise<CrawlResult> {
      const { region, crawlerName } = input;
      const startedAfterMs = Date.parse(input.startedAfter);
      if (Number.isNaN(startedAfterMs)) {
        throw ApplicationFailure.nonRetryable(
          `startedAfter '${input.startedAfter}' is not an ISO time: pass startCrawler's result`,
          FailureType.InvalidInput,
        );
      }
      let crawler: Crawler;
      let outcome: Outcome;
      let polls = 0;
      try {
        ({ value: crawler, outcome } = await pollUntilSettled({
          workerShutdown: deps.workerShutdown,
          policy: input.polling,
          check: () => (polls++, getCrawler(region, crawlerName)),
          outcome: (c) => crawlOutcome(c, startedAfterMs),
          describe: (c) => ({ crawlerName, state: c.State, lastCrawl: c.LastCrawl?.Status }),
        }));
      } catch (err) {
        if (!cancelRequested(err)) throw err;
        const ended = await stopCrawlAfterCancel(input);
        if (!ended) throw err;
        if (crawlOutcome(ended, startedAfterMs) !== 'done') {
          // Tells the workflow the crawl is over, so it does not stop it again.
          const finalState = ended.LastCrawl?.Status ?? ended.State ?? 'READY';
          const details: StoppedOnCancel = { stoppedId: crawlerName, finalState };
          throw new CancelledFailure(
            `the wait was cancelled and the crawl of crawler ${crawlerName} ended ${finalState}`,
            [details],
          );
        }
        // The crawl had succeeded before the stop reached it: its tables stand, and the wait says so.
        log.warn('the cancel came after the crawl had succeeded', { crawlerName });
        crawler = ended;
        outcome = 'done';
      }
      const last = crawler.LastCrawl;
      if (outcome === 'fail') {
        const logGroup = last?.LogGroup ?? '/aws-glue/crawlers';
        const logStream = last?.LogStream ?? crawlerName;
        throw ApplicationFailure.create({
          type: FailureType.CrawlFailed,
          nonRetryable: true,
          message:
            `crawl of crawler ${crawlerName} in ${region} (started ${last?.StartTime?.toISOString()}) ended ` +
            `${last?.Status}: ${last?.ErrorMessage ?? '(Glue gave no ErrorMessage)'}. ` +
            `Logs: CloudWatch log group ${logGroup}, log stream ${logStream}`,
          details: [
            {
              region,
              crawlerName,
              status: last?.Status,
              errorMessage: last?.ErrorMessage,
              logGroup,
              logStream,
              messagePrefix: last?.MessagePrefix,
            },
          ],
        });
      }
      return { crawlerName, status: 'SUCCEEDED', polls, ...(await tableCounts(region, crawlerName)) };
    },
  };

  /**
   * Stops the crawl the cancelled wait was watching (StopCrawler, tried again while throttled), and waits (bounded)
   * until the crawler is READY again. @returns the crawler then, or undefined when it could not be seen idle
   */
  async function stopCrawlAfterCancel(input: WaitForCrawlerInput): Promise<Crawler | undefined> {
    const { region, crawlerName } = input;
    const glue = aws.glue(region);
    try {
      await callAfterCancel(
        async () => {
          try {
            await glue.send(new StopCrawlerCommand({ Name: crawlerName }));
          } catch (err) {
            if (!NOTHING_TO_STOP.has(awsErrorName(err) ?? '')) throw err;
          }
        },
        input.polling,
        STOP_WAIT_MS,
      );
    } catch (err) {
      log.warn('StopCrawler failed; the crawl may still run', {
        crawlerName,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
      return undefined;
    }
    const last = await pollAfterCancel(
      async () => (await glue.send(new GetCrawlerCommand({ Name: crawlerName }))).Crawler,
      (c) => c !== undefined && crawlerIdle(c) === 'done',
      input.polling,
      STOP_WAIT_MS,
    );
    log.info('crawl stopped after cancellation', {
      crawlerName,
      state: last?.State,
      lastCrawl: last?.LastCrawl?.Status,
    });
    return last && crawlerIdle(last) === 'done' ? last : undefined;
  }

  /** Tables the last crawl created, updated and deleted; nothing when the metrics are not available. */
  async function tableCounts(region: string, crawlerName: string) {
    try {
      const out = await aws.glue(region).send(new GetCrawlerMetricsCommand({ CrawlerNameList: [crawlerName] }));
      const m = out.CrawlerMetricsList?.find((x) => x.CrawlerName === crawlerName);
      if (!m) return {};
      return { tablesCreated: m.TablesCreated, tablesUpdated: m.TablesUpdated, tablesDeleted: m.TablesDeleted };
    } catch (err) {
      // The counts are a report, not the result: a failed metrics call must not fail a good crawl.
      log.warn('GetCrawlerMetrics failed; reporting the crawl without table counts', {
        crawlerName,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
      return {};
    }
  }
}
