/**
 * Glue crawler runs, owned by the gateway: moto keeps the crawler definitions, the gateway their
 * State and LastCrawl, which it merges into moto's GetCrawler(s) answers. A crawl ends as scripted
 * through the control API, or by default succeeds after a second.
 */
import { randomUUID } from 'node:crypto';
import type { CrawlerState, LastCrawlStatus } from '@aws-sdk/client-glue';
import { AwsError, epochSeconds } from './aws-protocol';
import type { Moto } from './moto';
import type { AwsJsonCall } from './router';
import { ScriptQueues } from './script-queue';
import type { TimeScale } from './time-scale';

/** A scripted outcome for one crawl. Durations are AWS seconds (@default 1). */
export type CrawlOutcome =
  | {
      status: 'SUCCEEDED';
      afterSeconds?: number;
      tablesCreated?: number;
      tablesUpdated?: number;
      tablesDeleted?: number;
    }
  | { status: 'FAILED'; errorMessage: string; afterSeconds?: number }
  /** Stays RUNNING until StopCrawler, which ends it CANCELLED. */
  | { status: 'RUNNING' };

/** A crawler ends its crawl by STOPPING for this long (AWS seconds), as Glue does, before READY. */
export const FINISHING_SECONDS = 0.5;

interface CrawlerRecord {
  state: CrawlerState;
  lastCrawl?: { Status: LastCrawlStatus; ErrorMessage?: string; MessagePrefix: string; StartTime: number };
  /** The crawl in progress. */
  current?: { startedMs: number; scale: number; messagePrefix: string; abort: AbortController };
  metrics: { TablesCreated: number; TablesUpdated: number; TablesDeleted: number; LastRuntimeSeconds: number };
  runtimesSeconds: number[];
}

function validateOutcome(outcome: CrawlOutcome): void {
  const statuses = ['SUCCEEDED', 'FAILED', 'RUNNING'];
  if (!outcome || !statuses.includes(outcome.status)) {
    throw new Error(`a crawl outcome needs status ${statuses.join(' | ')}, got ${JSON.stringify(outcome)}`);
  }
  if (outcome.status === 'FAILED' && typeof outcome.errorMessage !== 'string') {
    throw new Error(`a FAILED crawl outcome needs an errorMessage, got ${JSON.stringify(outcome)}`);
  }
}

type MotoCrawler = Record<string, unknown> & { Name: string };

export class GlueCrawlers {
  private readonly crawlers = new Map<string, CrawlerRecord>();
  /** Scripted outcomes per name, consumed one per run; the control API fills them. */
  readonly scripts = new ScriptQueues<CrawlOutcome>(validateOutcome);

  constructor(
    private readonly moto: Moto,
    private readonly timeScale: TimeScale,
  ) {}

  readonly operations = [
    'StartCrawler',
    'StopCrawler',
    'GetCrawler',
    'GetCrawlers',
    'BatchGetCrawlers',
    'GetCrawlerMetrics',
  ];

  async handle({ region, operation, input }: AwsJsonCall): Promise<unknown> {
    const glue = (target: string) =>
      this.moto.json<Record<string, unknown>>(region, 'glue', `AWSGlue.${target}`, input);
    switch (operation) {
      case 'StartCrawler':
        await glue('GetCrawler');
        this.start(region, String(input.Name));
        return {};
      case 'StopCrawler':
        await glue('GetCrawler');
        this.stop(region, String(input.Name));
        return {};
      case 'GetCrawler': {
        const out = await glue('GetCrawler');
        return { ...out, Crawler: this.merge(region, out.Crawler as MotoCrawler) };
      }
      case 'GetCrawlers': {
        const out = await glue('GetCrawlers');
        return { ...out, Crawlers: (out.Crawlers as MotoCrawler[]).map((c) => this.merge(region, c)) };
      }
      case 'BatchGetCrawlers': {
        const out = await glue('BatchGetCrawlers');
        return { ...out, Crawlers: ((out.Crawlers ?? []) as MotoCrawler[]).map((c) => this.merge(region, c)) };
      }
      case 'GetCrawlerMetrics':
        return this.metrics(region, input);
      default:
        throw new AwsError('InvalidInputException', `the gateway does not serve ${operation}`);
    }
  }

  /** Whether a crawl of the crawler is running or stopping (Glue refuses to update it then). */
  isCrawling(region: string, name: string): boolean {
    return this.record(region, name).state !== 'READY';
  }

  private record(region: string, name: string): CrawlerRecord {
    const key = `${region}/${name}`;
    let record = this.crawlers.get(key);
    if (!record) {
      record = {
        state: 'READY',
        metrics: { TablesCreated: 0, TablesUpdated: 0, TablesDeleted: 0, LastRuntimeSeconds: 0 },
        runtimesSeconds: [],
      };
      this.crawlers.set(key, record);
    }
    return record;
  }

  private start(region: string, name: string): void {
    const record = this.record(region, name);
    if (record.state !== 'READY') {
      throw new AwsError('CrawlerRunningException', `Crawler with name ${name} has already started`);
    }
    const outcome = this.scripts.take(name, region) ?? { status: 'SUCCEEDED' };
    const current = {
      startedMs: this.timeScale.now(),
      scale: this.timeScale.scale,
      messagePrefix: randomUUID(),
      abort: new AbortController(),
    };
    record.state = 'RUNNING';
    record.current = current;
    if (outcome.status === 'RUNNING') return; // until StopCrawler
    const seconds = outcome.afterSeconds ?? 1;
    this.timeScale.sleep(seconds, current.abort.signal).then(
      () => {
        if (outcome.status === 'SUCCEEDED') {
          record.metrics.TablesCreated = outcome.tablesCreated ?? 0;
          record.metrics.TablesUpdated = outcome.tablesUpdated ?? 0;
          record.metrics.TablesDeleted = outcome.tablesDeleted ?? 0;
          this.finish(record, 'SUCCEEDED', seconds);
        } else {
          this.finish(record, 'FAILED', seconds, outcome.errorMessage);
        }
      },
      () => {}, // stopped: stop() finishes the crawl
    );
  }

  private stop(region: string, name: string): void {
    const record = this.record(region, name);
    if (record.state === 'STOPPING') {
      throw new AwsError('CrawlerStoppingException', `Crawler with name ${name} is stopping`);
    }
    if (record.state !== 'RUNNING' || !record.current) {
      throw new AwsError('CrawlerNotRunningException', `Crawler with name ${name} isn't running`);
    }
    record.current.abort.abort();
    const { startedMs, scale } = record.current;
    this.finish(record, 'CANCELLED', ((this.timeScale.now() - startedMs) * scale) / 1000);
  }

  /** The crawl is over: STOPPING for a moment, then READY with its LastCrawl. */
  private finish(record: CrawlerRecord, status: LastCrawlStatus, seconds: number, errorMessage?: string): void {
    const current = record.current;
    if (!current) return;
    record.state = 'STOPPING';
    void this.timeScale.sleep(FINISHING_SECONDS).then(() => {
      record.state = 'READY';
      record.current = undefined;
      record.lastCrawl = {
        Status: status,
        ErrorMessage: errorMessage,
        MessagePrefix: current.messagePrefix,
        StartTime: current.startedMs,
      };
      record.metrics.LastRuntimeSeconds = seconds;
      record.runtimesSeconds.push(seconds);
    });
  }

  /** moto's crawler with the gateway's State, LastCrawl and CrawlElapsedTime. */
  private merge(region: string, crawler: MotoCrawler): MotoCrawler {
    const record = this.record(region, crawler.Name);
    const merged: MotoCrawler = { ...crawler, State: record.state };
    delete merged.LastCrawl;
    delete merged.CrawlElapsedTime;
    if (record.current) {
      merged.CrawlElapsedTime = Math.round((this.timeScale.now() - record.current.startedMs) * record.current.scale);
    }
    if (record.lastCrawl) {
      const { StartTime, ...rest } = record.lastCrawl;
      merged.LastCrawl = {
        ...rest,
        LogGroup: '/aws-glue/crawlers',
        LogStream: crawler.Name,
        StartTime: epochSeconds(StartTime),
      };
    }
    return merged;
  }

  private async metrics(region: string, input: Record<string, unknown>) {
    let names = Array.isArray(input.CrawlerNameList) ? (input.CrawlerNameList as string[]) : [];
    if (names.length === 0) {
      const out = await this.moto.json<{ Crawlers?: MotoCrawler[] }>(region, 'glue', 'AWSGlue.GetCrawlers', {});
      names = (out.Crawlers ?? []).map((c) => c.Name);
    }
    return {
      CrawlerMetricsList: names.map((CrawlerName) => {
        const record = this.record(region, CrawlerName);
        const sorted = [...record.runtimesSeconds].sort((a, b) => a - b);
        return {
          CrawlerName,
          TimeLeftSeconds: 0,
          StillEstimating: false,
          MedianRuntimeSeconds: sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0,
          ...record.metrics,
        };
      }),
    };
  }
}
