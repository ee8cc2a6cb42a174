/**
 * The control API under `/_gateway/`: scripted Glue outcomes, the time scale, fault rules, held responses
 * and request counts. Plain JSON over HTTP; devstack/testkit/gateway.ts is its typed client and README.md lists the routes.
 */
import type http from 'node:http';
import { readBody } from './aws-protocol';
import type { RequestCounter } from './counts';
import type { FaultRuleInput, FaultRules } from './faults';
import type { CrawlOutcome, GlueCrawlers } from './glue-crawlers';
import type { RedshiftDatabases } from './redshift-databases';
import type { Holds } from './holds';
import type { GlueJobRuns } from './glue-job-runs';
import type { ScriptQueues } from './script-queue';
import type { TimeScale } from './time-scale';

export interface ControlDeps {
  counter: RequestCounter;
  faults: FaultRules;
  holds: Holds;
  timeScale: TimeScale;
  jobRuns: GlueJobRuns;
  crawlers: GlueCrawlers;
  databases: RedshiftDatabases;
}

interface RouteContext {
  params: string[];
  query: URLSearchParams;
  body: () => Promise<Record<string, unknown>>;
}

interface Route {
  method: string;
  path: RegExp;
  handle: (ctx: RouteContext) => unknown;
}

/** Outcomes from a request body: `{ outcomes: [...], region? }`. */
function scriptBody(body: Record<string, unknown>): { outcomes: unknown[]; region?: string } {
  if (!Array.isArray(body.outcomes)) throw new Error('body must be { "outcomes": [...], "region"?: "..." }');
  if (body.region !== undefined && typeof body.region !== 'string') throw new Error('region must be a string');
  return { outcomes: body.outcomes as unknown[], region: body.region as string | undefined };
}

/** POST appends outcomes, GET lists those still queued, DELETE clears them: `<prefix>/<name>/outcomes[?region=]`. */
function scriptRoutes<T>(prefix: string, queues: ScriptQueues<T>): Route[] {
  const path = new RegExp(`^${prefix}/([^/]+)/outcomes$`);
  const region = (query: URLSearchParams) => query.get('region') ?? undefined;
  return [
    {
      method: 'POST',
      path,
      handle: async ({ params, body }) => {
        const { outcomes, region } = scriptBody(await body());
        return queues.add(params[0]!, outcomes as T[], region);
      },
    },
    { method: 'GET', path, handle: ({ params, query }) => queues.queued(params[0]!, region(query)) },
    { method: 'DELETE', path, handle: ({ params, query }) => (queues.clear(params[0]!, region(query)), { ok: true }) },
  ];
}

function routes(deps: ControlDeps): Route[] {
  const { counter, faults, holds, timeScale, jobRuns, crawlers, databases } = deps;
  const resource = (query: URLSearchParams) => query.get('resource') ?? undefined;
  return [
    { method: 'GET', path: /^health$/, handle: () => ({ ok: true }) },
    {
      method: 'POST',
      path: /^reset$/,
      handle: () => {
        faults.reset();
        holds.releaseAll();
        counter.reset();
        timeScale.set(1);
        timeScale.setOffset(0);
        jobRuns.scripts.reset();
        crawlers.scripts.reset();
        return { ok: true };
      },
    },
    {
      // Opens a Redshift database now and keeps it open: the stack warms its own targets at start.
      method: 'POST',
      path: /^redshift\/warm$/,
      handle: async ({ body }) => {
        const { region, workgroupName, clusterIdentifier, database } = await body();
        const name = (v: unknown, field: string) => {
          if (v !== undefined && typeof v !== 'string') throw new Error(`${field} must be a string, not ${String(v)}`);
          return v;
        };
        if (typeof region !== 'string' || typeof database !== 'string' || !(workgroupName ?? clusterIdentifier))
          throw new Error('body must be { "region", "database", and "workgroupName" or "clusterIdentifier" }');
        const target = {
          region,
          database,
          workgroupName: name(workgroupName, 'workgroupName'),
          clusterIdentifier: name(clusterIdentifier, 'clusterIdentifier'),
        };
        const outcome = await databases.warm(target);
        if (outcome.status !== 'FINISHED') throw new Error(`could not open the database: ${JSON.stringify(outcome)}`);
        return { ok: true };
      },
    },
    { method: 'GET', path: /^time-scale$/, handle: () => ({ scale: timeScale.scale }) },
    {
      method: 'PUT',
      path: /^time-scale$/,
      handle: async ({ body }) => {
        timeScale.set(Number((await body()).scale));
        return { scale: timeScale.scale };
      },
    },
    { method: 'GET', path: /^clock$/, handle: () => ({ offsetMs: timeScale.offsetMs, now: timeScale.now() }) },
    {
      method: 'PUT',
      path: /^clock$/,
      handle: async ({ body }) => {
        timeScale.setOffset(Number((await body()).offsetMs));
        return { offsetMs: timeScale.offsetMs, now: timeScale.now() };
      },
    },
    {
      method: 'GET',
      path: /^counts$/,
      handle: ({ query }) => counter.read(resource(query), query.get('region') ?? undefined),
    },
    { method: 'DELETE', path: /^counts$/, handle: ({ query }) => (counter.reset(resource(query)), { ok: true }) },
    { method: 'GET', path: /^faults$/, handle: () => faults.list() },
    {
      method: 'POST',
      path: /^faults$/,
      handle: async ({ body }) => faults.add((await body()) as unknown as FaultRuleInput),
    },
    { method: 'DELETE', path: /^faults$/, handle: () => (faults.reset(), { ok: true }) },
    {
      method: 'DELETE',
      path: /^faults\/([^/]+)$/,
      handle: ({ params }) => {
        if (!faults.delete(params[0]!)) throw new Error(`no fault rule with id ${params[0]}`);
        return { ok: true };
      },
    },
    { method: 'GET', path: /^holds$/, handle: () => holds.list() },
    {
      method: 'POST',
      path: /^holds\/([^/]+)\/release$/,
      handle: ({ params }) => {
        if (!holds.release(params[0]!))
          throw new Error(`no held response with id ${params[0]}; GET /_gateway/holds lists them`);
        return { ok: true };
      },
    },
    { method: 'POST', path: /^holds\/release$/, handle: () => ({ released: holds.releaseAll() }) },
    ...scriptRoutes('glue/jobs', jobRuns.scripts),
    ...scriptRoutes('glue/crawlers', crawlers.scripts),
    {
      method: 'POST',
      path: /^glue\/crawlers\/([^/]+)\/end$/,
      handle: async ({ params, body }) => {
        const { outcome, region } = (await body()) as { outcome: CrawlOutcome; region?: string };
        if (outcome?.status === 'RUNNING') throw new Error('a crawl ends SUCCEEDED or FAILED, not RUNNING');
        return { ended: crawlers.endCrawl(params[0]!, outcome, region) };
      },
    },
  ];
}

/** Builds the handler for `/_gateway/*`. */
export function createControl(deps: ControlDeps) {
  const table = routes(deps);
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/_gateway\//, '');
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res
        .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
        .end(text);
    };
    const matching = table.filter((route) => route.path.test(path));
    const route = matching.find((r) => r.method === req.method);
    if (!route) {
      req.resume();
      if (matching.length > 0) return send(405, { error: `${req.method} is not allowed on /_gateway/${path}` });
      return send(404, { error: `no control route /_gateway/${path}; see README.md, "The AWS gateway"` });
    }
    const body = async () => {
      const text = (await readBody(req)).toString('utf8');
      try {
        return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
      } catch {
        throw new Error(`body is not JSON: ${text.slice(0, 200)}`);
      }
    };
    const params = route.path.exec(path)!.slice(1).map(decodeURIComponent);
    try {
      send(200, await route.handle({ params, query: url.searchParams, body }));
    } catch (err) {
      // Every error a route throws is about what the caller sent: a malformed rule, outcome or scale.
      send(400, { error: err instanceof Error ? err.message : String(err) });
    }
  };
}
