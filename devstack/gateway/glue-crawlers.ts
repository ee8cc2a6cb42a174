/**
 * Glue crawler runs, owned by the gateway: moto keeps the crawler definitions, the gateway their
 * State and LastCrawl, which it merges into moto's GetCrawler(s) answers. A crawl ends as scripted
 * through the control API, or by default succeeds after a second.
 */
import { randomUUID } from 'node:crypto';
import type { CrawlerHistoryState, CrawlerState, LastCrawlStatus } from '@aws-sdk/client-glue';
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
const FINISHING_SECONDS = 0.5;

/** One crawl as ListCrawls shows it (CrawlerHistory); times are AWS's clock, in ms. */
interface CrawlHistoryEntry {
  CrawlId: string;
  State: CrawlerHistoryState;
  StartTime: number;
  EndTime?: number;
  ErrorMessage?: string;
  MessagePrefix: string;
}

/** ListCrawls' Filters: the fields it compares and how (Glue API reference, CrawlsFilter). */
const FILTER_FIELDS = ['CRAWL_ID', 'STATE', 'START_TIME', 'END_TIME', 'DPU_HOUR'] as const;
const FILTER_OPERATORS = {
  GT: (c: number) => c > 0,
  GE: (c: number) => c >= 0,
  LT: (c: number) => c < 0,
  LE: (c: number) => c <= 0,
  EQ: (c: number) => c === 0,
  NE: (c: number) => c !== 0,
} as const;
const HISTORY_STATE = { SUCCEEDED: 'COMPLETED', FAILED: 'FAILED', CANCELLED: 'STOPPED' } as const satisfies Record<
  LastCrawlStatus,
  CrawlerHistoryState
>;

interface CrawlerRecord {
  state: CrawlerState;
  /** Every crawl, oldest first: ListCrawls answers from it. */
  history: CrawlHistoryEntry[];
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
    'ListCrawls',
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
      case 'ListCrawls':
        await this.moto.json(region, 'glue', 'AWSGlue.GetCrawler', { Name: input.CrawlerName });
        return this.listCrawls(region, input);
      default:
        throw new AwsError('InvalidInputException', `the gateway does not serve ${operation}`);
    }
  }

  /**
   * Ends the crawl in progress now, as `outcome` says (the control API's, for crawls scripted RUNNING that a test
   * ends once its runs are where it wants them). @returns false when no crawl is running
   */
  endCrawl(name: string, outcome: Exclude<CrawlOutcome, { status: 'RUNNING' }>, region = 'us-east-1'): boolean {
    validateOutcome(outcome);
    const record = this.record(region, name);
    if (record.state !== 'RUNNING' || !record.current) return false;
    const { startedMs, scale, abort } = record.current;
    abort.abort();
    this.conclude(record, outcome, ((this.timeScale.now() - startedMs) * scale) / 1000);
    return true;
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
        history: [],
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
    record.history.push({
      CrawlId: current.messagePrefix,
      State: 'RUNNING',
      StartTime: current.startedMs,
      MessagePrefix: current.messagePrefix,
    });
    if (outcome.status === 'RUNNING') return; // until StopCrawler
    const seconds = outcome.afterSeconds ?? 1;
    this.timeScale.sleep(seconds, current.abort.signal).then(
      () => this.conclude(record, outcome, seconds),
      () => {}, // stopped: stop() finishes the crawl
    );
  }

  /** The crawl ends as its outcome says, after `seconds` AWS seconds. */
  private conclude(record: CrawlerRecord, outcome: Exclude<CrawlOutcome, { status: 'RUNNING' }>, seconds: number) {
    if (outcome.status === 'FAILED') return this.finish(record, 'FAILED', seconds, outcome.errorMessage);
    record.metrics.TablesCreated = outcome.tablesCreated ?? 0;
    record.metrics.TablesUpdated = outcome.tablesUpdated ?? 0;
    record.metrics.TablesDeleted = outcome.tablesDeleted ?? 0;
    this.finish(record, 'SUCCEEDED', seconds);
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
      const crawl = record.history.find((h) => h.CrawlId === current.messagePrefix);
      if (crawl)
        Object.assign(crawl, {
          State: HISTORY_STATE[status],
          EndTime: this.timeScale.now(),
          ErrorMessage: errorMessage,
        });
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

  /**
   * ListCrawls: the crawler's crawls, newest first, filtered as asked (every filter must hold), MaxResults
   * (1 to 100, @default 20) a page. A crawl is RUNNING until the crawler is READY again.
   */
  private listCrawls(region: string, input: Record<string, unknown>) {
    const max = input.MaxResults === undefined ? 20 : Number(input.MaxResults);
    if (!Number.isInteger(max) || max < 1 || max > 100) {
      throw new AwsError('InvalidInputException', `MaxResults must be 1 to 100, got ${String(input.MaxResults)}`);
    }
    const filters = Array.isArray(input.Filters) ? (input.Filters as Record<string, unknown>[]) : [];
    const tests = filters.map((f) => crawlFilter(f));
    const matching = [...this.record(region, String(input.CrawlerName)).history]
      .reverse()
      .filter((crawl) => tests.every((t) => t(crawl)));
    const offset = typeof input.NextToken === 'string' ? Number(input.NextToken) : 0;
    if (!Number.isInteger(offset) || offset < 0) throw new AwsError('InvalidInputException', 'NextToken is not valid');
    const page = matching.slice(offset, offset + max);
    return {
      Crawls: page.map((c) => ({
        ...c,
        StartTime: epochSeconds(c.StartTime),
        ...(c.EndTime === undefined ? {} : { EndTime: epochSeconds(c.EndTime) }),
        LogGroup: '/aws-glue/crawlers',
        LogStream: String(input.CrawlerName),
      })),
      ...(offset + max < matching.length ? { NextToken: String(offset + max) } : {}),
    };
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

/** One ListCrawls filter as a test of a crawl; an unknown field or operator is refused as Glue refuses it. */
function crawlFilter(filter: Record<string, unknown>): (crawl: CrawlHistoryEntry) => boolean {
  const field = filter.FieldName as (typeof FILTER_FIELDS)[number];
  const operator = FILTER_OPERATORS[filter.FilterOperator as keyof typeof FILTER_OPERATORS];
  if (!FILTER_FIELDS.includes(field) || !operator || typeof filter.FieldValue !== 'string') {
    throw new AwsError(
      'InvalidInputException',
      `a crawls filter needs FieldName ${FILTER_FIELDS.join(' | ')}, FilterOperator ${Object.keys(FILTER_OPERATORS).join(' | ')} and a FieldValue, got ${JSON.stringify(filter)}`,
    );
  }
  const given = filter.FieldValue;
  return (crawl) => {
    if (field === 'CRAWL_ID' || field === 'STATE') {
      const value = field === 'CRAWL_ID' ? crawl.CrawlId : crawl.State;
      return operator(value === given ? 0 : value < given ? -1 : 1);
    }
    // START_TIME and END_TIME are epoch milliseconds; DPU hours are not kept (0).
    const value = field === 'START_TIME' ? crawl.StartTime : field === 'END_TIME' ? crawl.EndTime : 0;
    return value !== undefined && operator(Math.sign(value - Number(given)));
  };
}
