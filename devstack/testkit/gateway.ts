/**
 * Typed client for the AWS gateway's control API (README.md, "The AWS gateway"). Tests share one
 * stack, so script outcomes for their own uniquely named jobs and crawlers, scope fault rules to
 * their own resources (`resource: prefix`), and read counts filtered by that prefix.
 */
import type { RequestCounts } from '../gateway/counts';
import type { FaultRule, FaultRuleInput } from '../gateway/faults';
import type { CrawlOutcome } from '../gateway/glue-crawlers';
import type { JobRunOutcome } from '../gateway/glue-job-runs';
import type { HeldResponse } from '../gateway/holds';
import { controlCall, waitForItem } from './poll';
import { stack } from './stack';

export type { CrawlOutcome, FaultRule, FaultRuleInput, HeldResponse, JobRunOutcome, RequestCounts };

export class GatewayControl {
  /** @param controlUrl the stack's `aws.controlUrl` @default - the test stack's */
  constructor(private readonly controlUrl = stack().aws.controlUrl) {}

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return controlCall('gateway control', `${this.controlUrl}/${path}`, method, body);
  }

  /** Queues outcomes for the next runs of a Glue job, one per StartJobRun. @returns all queued now */
  scriptJobRuns(jobName: string, outcomes: JobRunOutcome[], region?: string): Promise<JobRunOutcome[]> {
    return this.call('POST', `glue/jobs/${encodeURIComponent(jobName)}/outcomes`, { outcomes, region });
  }

  /** Queues outcomes for the next crawls of a crawler, one per StartCrawler. @returns all queued now */
  scriptCrawls(crawlerName: string, outcomes: CrawlOutcome[], region?: string): Promise<CrawlOutcome[]> {
    return this.call('POST', `glue/crawlers/${encodeURIComponent(crawlerName)}/outcomes`, { outcomes, region });
  }

  /**
   * Ends the crawl in progress (one scripted RUNNING) now, SUCCEEDED or FAILED as `outcome` says.
   * @returns false when no crawl of the crawler was running
   */
  async endCrawl(
    crawlerName: string,
    outcome: Exclude<CrawlOutcome, { status: 'RUNNING' }>,
    region?: string,
  ): Promise<boolean> {
    const out = await this.call<{ ended: boolean }>('POST', `glue/crawlers/${encodeURIComponent(crawlerName)}/end`, {
      outcome,
      region,
    });
    return out.ended;
  }

  /** Sets how many AWS seconds of scripted Glue time pass per real second. */
  async setTimeScale(scale: number): Promise<void> {
    await this.call('PUT', 'time-scale', { scale });
  }

  /** Runs `body` with scripted Glue time passing `scale` times faster, then puts the clock back to 1. */
  async atTimeScale<T>(scale: number, body: () => Promise<T>): Promise<T> {
    await this.setTimeScale(scale);
    try {
      return await body();
    } finally {
      await this.setTimeScale(1);
    }
  }

  /** Sets AWS's clock `offsetMs` ahead of the machine's (negative: behind): Glue's timestamps and S3's LastModified. */
  async setClockOffset(offsetMs: number): Promise<void> {
    await this.call('PUT', 'clock', { offsetMs });
  }

  /** AWS's clock as the gateway keeps it: `now` (epoch ms) and its offset from the machine's. */
  clock(): Promise<{ offsetMs: number; now: number }> {
    return this.call('GET', 'clock');
  }

  /** Runs `body` with AWS's clock `offsetMs` off the machine's, then puts it back. */
  async atClockOffset<T>(offsetMs: number, body: () => Promise<T>): Promise<T> {
    await this.setClockOffset(offsetMs);
    try {
      return await body();
    } finally {
      await this.setClockOffset(0);
    }
  }

  /** Adds a fault rule. Scope it with `resource` to your own uniquely named resources. */
  addFault(rule: FaultRuleInput): Promise<FaultRule> {
    return this.call('POST', 'faults', rule);
  }

  /** Runs `body` with a fault rule in place, then removes the rule. */
  async withFault<T>(rule: FaultRuleInput, body: () => Promise<T>): Promise<T> {
    const { id } = await this.addFault(rule);
    try {
      return await body();
    } finally {
      await this.deleteFault(id);
    }
  }

  /** The fault rules, with how often each has fired. */
  faults(): Promise<FaultRule[]> {
    return this.call('GET', 'faults');
  }

  async deleteFault(id: string): Promise<void> {
    await this.call('DELETE', `faults/${encodeURIComponent(id)}`);
  }

  async resetFaults(): Promise<void> {
    await this.call('DELETE', 'faults');
  }

  /** Responses held back by `hold` fault rules, oldest first. */
  holds(): Promise<HeldResponse[]> {
    return this.call('GET', 'holds');
  }

  /**
   * Waits until a response matching `match` is held (the request has taken effect, its caller waits) and
   * returns it. @param timeoutMs how long to wait @default 120_000
   */
  waitForHold(match: (held: HeldResponse) => boolean, timeoutMs = 120_000): Promise<HeldResponse> {
    return waitForItem(() => this.holds(), match, timeoutMs);
  }

  /** Sends a held response to its caller (nothing, if the caller has gone). */
  async release(id: string): Promise<void> {
    await this.call('POST', `holds/${encodeURIComponent(id)}/release`);
  }

  /** Sends every held response. @returns how many there were */
  async releaseAll(): Promise<number> {
    return (await this.call<{ released: number }>('POST', 'holds/release')).released;
  }

  /**
   * Request counts by `service:operation`.
   * @param resource only requests about buckets, jobs, crawlers or clusters whose name starts with this
   * @param region only requests signed for this region
   */
  counts(resource?: string, region?: string): Promise<RequestCounts> {
    const query = new URLSearchParams({
      ...(resource === undefined ? {} : { resource }),
      ...(region === undefined ? {} : { region }),
    }).toString();
    return this.call('GET', `counts${query ? `?${query}` : ''}`);
  }

  /** Forgets counts: all, or those about resources whose name starts with `resource`. */
  async resetCounts(resource?: string): Promise<void> {
    await this.call('DELETE', `counts${resource === undefined ? '' : `?resource=${encodeURIComponent(resource)}`}`);
  }

  /** Clears fault rules, counts, scripted outcomes and the time scale (not data: buckets, tables). */
  async reset(): Promise<void> {
    await this.call('POST', 'reset');
  }
}
