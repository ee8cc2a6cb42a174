/**
 * The gateway's request path: control API, then identify the request, count it, run the fault
 * rules, and serve it from the gateway's own services or forward it to moto unchanged.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AwsError,
  identify,
  needsBodyToIdentify,
  readBody,
  s3Location,
  writeAwsError,
  writeJson,
  type AwsRequestIdentity,
} from './aws-protocol';
import type { RequestCounter } from './counts';
import type { FaultRules } from './faults';
import { actAfterServe, CapturedResponse, type Holds } from './holds';
import type { S3Etags } from './s3-etags';
import type { S3BucketRegions } from './s3-regions';

/** One awsJson call the gateway serves itself. */
export interface AwsJsonCall {
  region: string;
  operation: string;
  input: Record<string, unknown>;
}

/** A service (by SigV4 signing name) whose operations the gateway serves in part or whole. */
export interface JsonService {
  /** Whether the gateway serves this operation; the others go to moto. */
  serves(operation: string): boolean;
  /** The resource a call is about, for counts and fault rules. @default - JobName, CrawlerName or Name in the input */
  resourceOf?(call: AwsJsonCall): string | undefined;
  /** Serves one call: returns the output, or throws an {@link AwsError}. */
  handle(call: AwsJsonCall): Promise<unknown>;
}

export interface RouterOptions {
  upstream: URL;
  counter: RequestCounter;
  faults: FaultRules;
  /** Responses kept back by `hold` fault rules. */
  holds: Holds;
  /** Services by signing name (`glue`, `redshift-data`). */
  services: Record<string, JsonService>;
  /** Serves `/_gateway/*`. */
  control: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  /** Gives SSE-KMS objects the non-MD5 ETags AWS gives them. @default - moto's ETags as they are */
  s3Etags?: S3Etags;
  /** Answers 301 for a bucket in another region than the request's, as S3 does. @default - moto's leniency */
  s3Regions?: S3BucketRegions;
}

/** Names AWS requests commonly carry their resource under. */
const RESOURCE_FIELDS = ['JobName', 'CrawlerName', 'Name', 'ClusterIdentifier', 'WorkgroupName'] as const;

function defaultResource(input: Record<string, unknown>): string | undefined {
  for (const field of RESOURCE_FIELDS) if (typeof input[field] === 'string') return input[field];
  return undefined;
}

/** Builds the gateway's request listener. */
export function createRouter(options: RouterOptions): http.RequestListener {
  const { upstream, counter, faults, holds, services, control, s3Etags, s3Regions } = options;

  function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer | undefined,
    s3Operation?: string,
  ) {
    const proxied = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        if (s3Etags && s3Operation && s3Etags.rewrites(s3Operation)) {
          s3Etags.respond(s3Operation, req, upstreamRes, res).catch((err: unknown) => {
            console.error(`gateway: rewriting the ETags of s3:${s3Operation} failed:`, err);
            if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`gateway: ${String(err)}\n`);
            else res.destroy();
          });
          return;
        }
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    proxied.on('error', (err) => {
      if (res.headersSent) return res.destroy();
      res
        .writeHead(502, { 'content-type': 'text/plain' })
        .end(`gateway: upstream ${upstream.href} failed: ${err.message}\n`);
    });
    if (body) proxied.end(body);
    else req.pipe(proxied);
  }

  async function serve(
    res: http.ServerResponse,
    id: AwsRequestIdentity,
    service: JsonService,
    input: Record<string, unknown>,
  ) {
    try {
      writeJson(res, await service.handle({ region: id.region, operation: id.operation, input }));
    } catch (err) {
      if (err instanceof AwsError) return writeAwsError(res, id.protocol, err);
      console.error(`gateway: ${id.service}:${id.operation} failed:`, err);
      writeAwsError(res, id.protocol, { status: 500, code: 'InternalFailure', message: String(err) });
    }
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse) {
    if (req.url?.startsWith('/_gateway/')) return control(req, res);
    // JSON and query-protocol bodies are small and name the operation or resource; S3 bodies stream through.
    const body =
      req.headers['x-amz-target'] !== undefined || needsBodyToIdentify(req) ? await readBody(req) : undefined;
    const id = identify(req, body);
    let input: Record<string, unknown> = {};
    if (id.protocol === 'json' && body && body.length > 0) {
      try {
        input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        return writeAwsError(res, 'json', { status: 400, code: 'SerializationException', message: 'body is not JSON' });
      }
    }
    const service = id.protocol === 'json' ? services[id.service] : undefined;
    const call = { region: id.region, operation: id.operation, input };
    const resource =
      id.protocol === 's3' ? s3Location(req).bucket : (service?.resourceOf?.(call) ?? defaultResource(input));

    const decision = faults.decide({ ...id, resource }, id.protocol);
    counter.record(
      { service: id.service, operation: id.operation, resource, region: id.region },
      decision.outcome !== undefined,
      decision.latencyMs > 0,
    );
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.outcome?.type === 'drop') return req.socket.destroy();
    if (decision.outcome?.type === 'respond') {
      if (!body) req.resume();
      return writeAwsError(res, id.protocol, decision.outcome.error, req.method);
    }
    if (!decision.outcome) return respond(req, res, { id, service, input, body });
    // An after-serve fault: the request takes effect as usual, then the rule acts on its response.
    const served = new CapturedResponse();
    // Written to exactly as a ServerResponse is (writeHead, write, end, pipe), by the same code.
    await respond(req, served as unknown as http.ServerResponse, { id, service, input, body });
    await served.finished;
    const subject = { service: id.service, operation: id.operation, region: id.region, resource };
    return actAfterServe(decision.outcome, served, { req, res, protocol: id.protocol, subject }, holds);
  }

  /** Serves a request from the gateway's own services or moto. */
  async function respond(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    request: { id: AwsRequestIdentity; service?: JsonService; input: Record<string, unknown>; body?: Buffer },
  ) {
    const { id, service, input, body } = request;
    if (service?.serves(id.operation)) return serve(res, id, service, input);
    if (id.protocol === 's3' && s3Regions) {
      const redirect = await s3Regions.redirect(id.region, id.operation, s3Location(req).bucket);
      if (redirect) {
        if (!body) req.resume();
        return writeAwsError(res, 's3', redirect, req.method);
      }
    }
    if (id.protocol === 's3' && s3Etags) {
      const refused = await s3Etags.checkConditions(req, id.operation);
      if (refused) {
        if (!body) req.resume();
        return writeAwsError(res, 's3', refused, req.method);
      }
      return forward(req, res, body, id.operation);
    }
    forward(req, res, body);
  }

  return (req, res) => {
    route(req, res).catch((err: unknown) => {
      console.error('gateway: request failed:', err);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`gateway: ${String(err)}\n`);
      else res.destroy();
    });
  };
}
