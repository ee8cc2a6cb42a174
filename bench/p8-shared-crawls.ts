/**
 * P8, shared crawls: 20 batches land at once, and each runs the real crawl activities (startCrawler, then
 * waitForCrawler, in MockActivityEnvironments) against the gateway's 1-second crawls. Shared: every batch on one
 * crawler, so batches share crawls that cover them. Baseline, in the same run: one crawl per batch (each batch its
 * own crawler, all crawling at once). Crawls counted from ListCrawls; repetitions interleaved, medians reported.
 */
import { CreateCrawlerCommand, ListCrawlsCommand } from '@aws-sdk/client-glue';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { performance } from 'node:perf_hooks';
import { createCrawlerActivities } from '../src/activities/crawler';
import type { StartCrawlerResult } from '../src/workflow-safe/activity-types';
import type { PollPolicy } from '../src/workflow-safe/spec';
import {
  activityEnv,
  barChart,
  benchAws,
  benchDeps,
  figure,
  fmt,
  percentile,
  type BenchContext,
  type BenchResult,
} from './support';

const BATCHES = 20;
/** The same poll schedule for both: short, so the figure is about crawls, not poll gaps. */
const POLLING: PollPolicy = { initialIntervalMs: 250, maxIntervalMs: 1_000, backoffCoefficient: 1.5 };

type Mode = 'shared' | 'own';
const LABEL: Record<Mode, string> = {
  shared: 'shared crawls (one crawler, 20 batches)',
  own: 'one crawl per batch (20 crawlers)',
};

interface Sample {
  mode: Mode;
  rep: number;
  crawls: number;
  wallSeconds: number;
  joined: number;
  startCrawlerCalls: number;
}

export async function p8SharedCrawls(ctx: BenchContext): Promise<BenchResult> {
  const aws = benchAws(ctx.stack);
  const region = ctx.stack.aws.regions[0]!;
  const glue = aws.glue(region);
  const s3 = aws.s3(region);
  const activities = createCrawlerActivities(benchDeps(ctx.stack, aws));
  const reps = ctx.quick ? 3 : 5;
  const suffix = Date.now().toString(36);
  const bucket = `bench-p8-${suffix}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const newCrawler = async (name: string) => {
    await glue.send(
      new CreateCrawlerCommand({
        Name: name,
        Role: 'arn:aws:iam::123456789012:role/glueline-bench',
        DatabaseName: 'bench',
        Targets: { S3Targets: [{ Path: `s3://${bucket}/raw/` }] },
      }),
    );
    return name;
  };
  const crawlsOf = async (name: string) =>
    (await glue.send(new ListCrawlsCommand({ CrawlerName: name, MaxResults: 100 }))).Crawls?.length ?? 0;

  /** One repetition of one mode: the batches land, then all crawl at once. */
  async function once(mode: Mode, rep: number): Promise<Sample> {
    const tag = `${suffix}-${mode}-${rep}`;
    const shared = mode === 'shared' ? await newCrawler(`bench-p8-${tag}`) : undefined;
    const crawlers = await Promise.all(
      Array.from({ length: BATCHES }, (_, i) => shared ?? newCrawler(`bench-p8-${tag}-${i}`)),
    );
    const prefixes = crawlers.map((_, i) => `raw/batch_id=${tag}-${i}/`);
    await Promise.all(
      prefixes.map((prefix) =>
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}part-0.csv`, Body: 'id\n1\n' })),
      ),
    );
    const t0 = performance.now();
    const started = await Promise.all(
      crawlers.map(async (crawlerName, i) => {
        const input = { region, crawlerName, polling: POLLING, data: { bucket, prefix: prefixes[i]! } };
        const start = (await activityEnv().run(activities.startCrawler, input)) as StartCrawlerResult;
        await activityEnv().run(activities.waitForCrawler, {
          region,
          crawlerName,
          startedAfter: start.startedAfter,
          clock: start.clock,
          polling: POLLING,
        });
        return start;
      }),
    );
    const wallSeconds = (performance.now() - t0) / 1000;
    const distinct = [...new Set(crawlers)];
    const crawls = (await Promise.all(distinct.map(crawlsOf))).reduce((a, b) => a + b, 0);
    const counts = await ctx.gateway.counts(`bench-p8-${tag}`);
    return {
      mode,
      rep,
      crawls,
      wallSeconds,
      joined: started.filter((s) => s.crawl?.how === 'joined').length,
      startCrawlerCalls: counts['glue:StartCrawler']?.count ?? 0,
    };
  }

  const samples: Sample[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    // Interleaved, the order alternating, so a drift in the machine's load falls on both.
    const order: Mode[] = rep % 2 ? ['shared', 'own'] : ['own', 'shared'];
    for (const mode of order) {
      const s = await once(mode, rep);
      ctx.log(`p8: rep ${rep}/${reps} ${mode}: ${s.crawls} crawls, ${fmt(s.wallSeconds)} s, ${s.joined} joined`);
      samples.push(s);
    }
  }

  const median = (mode: Mode, f: (s: Sample) => number) =>
    percentile(samples.filter((s) => s.mode === mode).map(f), 50);
  const figures = [
    figure({
      name: `${LABEL.shared}: crawls`,
      value: median('shared', (s) => s.crawls),
      unit: 'crawls',
      baselineName: LABEL.own,
      baseline: median('own', (s) => s.crawls),
      goal: '≤ 5',
    }),
    figure({
      name: `${LABEL.shared}: wall time`,
      value: median('shared', (s) => s.wallSeconds),
      unit: 's',
      baselineName: LABEL.own,
      baseline: median('own', (s) => s.wallSeconds),
    }),
  ];
  const rows = samples.map(
    (s) =>
      `| ${s.rep} | ${LABEL[s.mode]} | ${s.crawls} | ${s.startCrawlerCalls} | ${s.joined} | ${fmt(s.wallSeconds)} |`,
  );
  const markdown = [
    `${BATCHES} batches land at once (one object each, under its own batch prefix), then each runs startCrawler and`,
    'waitForCrawler at once; crawls last 1 s at the gateway (then 0.5 s STOPPING), every wait polls at 250 ms ×1.5 up to 1 s.',
    'Shared: all on one crawler: the first run starts a crawl; a run that finds a crawl in progress that began before its',
    "objects were written (S3's LastModified, in whole seconds) waits it out and shares the next. Baseline: each batch its",
    `own crawler, so ${BATCHES} crawls run side by side: the wall time of one crawl, ${BATCHES} times the crawling (on AWS`,
    'billed per DPU-hour, each crawl re-reading the prefixes). Medians of',
    `${reps} interleaved repetitions; StartCrawler calls include those refused with CrawlerRunningException.`,
    '',
    '| rep | mode | crawls | StartCrawler calls | runs that joined | wall time (s) |',
    '| ---: | --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    'Crawls (median):',
    '',
    barChart((['shared', 'own'] as Mode[]).map((m) => ({ label: LABEL[m], value: median(m, (s) => s.crawls) }))),
    '',
    'Wall time, seconds (median):',
    '',
    barChart((['shared', 'own'] as Mode[]).map((m) => ({ label: LABEL[m], value: median(m, (s) => s.wallSeconds) }))),
  ].join('\n');
  return {
    id: 'p8',
    title: 'P8: shared crawls for 20 simultaneous batches',
    setup: `${BATCHES} batches, real crawler activities against the gateway's 1 s crawls, ${reps} interleaved repetitions`,
    figures,
    markdown,
    raw: samples,
  };
}
