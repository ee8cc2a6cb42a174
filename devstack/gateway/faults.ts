/**
 * Fault injection by rule. A rule targets `service:operation` (wildcards allowed), optionally one
 * region and resources whose name starts with a prefix, and fires for a number of requests, with a
 * probability, or both. Errors are written in the request's own protocol, so the SDK sees exactly
 * what it would see from AWS and its own retry logic decides what to do.
 */
import { randomUUID } from 'node:crypto';
import type { AwsErrorSpec, AwsProtocol } from './aws-protocol';

/** What a rule does to a request it fires on. */
export type FaultAction =
  /** Glue/Redshift Data: `ThrottlingException` 400; S3: `SlowDown` 503; query protocol: `Throttling` 400. */
  | { type: 'throttle' }
  /** A server error with the protocol's own code: 500 `InternalServiceException`/`InternalError`, 503 `ServiceUnavailable`. */
  | { type: 'error'; status: 500 | 503 }
  /** Refuses the request as IAM would: S3 `AccessDenied` 403, JSON services `AccessDeniedException` 400. */
  | { type: 'deny' }
  /** S3's `RequestTimeout` 400 (the request body came too slowly); other services `RequestTimeoutException` 400. */
  | { type: 'requestTimeout' }
  /** Temporary credentials that expired: S3 and query `ExpiredToken` 400, JSON services `ExpiredTokenException` 400. */
  | { type: 'expiredToken' }
  /** Delays the request, which then goes on as usual (other rules may still fire on it). */
  | { type: 'latency'; ms: number }
  /** Destroys the connection without a response. */
  | { type: 'drop' }
  /**
   * Serves the request (it reaches Glue, Redshift, S3), then destroys the connection or answers the error
   * instead of the real response: the caller cannot tell whether its request took effect.
   */
  | { type: 'after'; then: 'drop' | 500 | 503 }
  /**
   * Serves the request and keeps its response until released through the control API
   * (`POST /_gateway/holds/<id>/release`) or `timeoutMs` passed, so a test can act in that window.
   */
  | { type: 'hold'; timeoutMs?: number }
  /** Each time the rule fires, one of these actions, drawn with equal chance (no `mix` inside a mix). */
  | { type: 'mix'; actions: FaultAction[] };

/** How long a held response waits for its release when the rule names no timeout. */
export const DEFAULT_HOLD_TIMEOUT_MS = 5 * 60_000;

/** A rule as the control API takes it. */
export interface FaultRuleInput {
  /** `service:operation` with `*` wildcards: `glue:GetJobRun`, `s3:PutObject`, `redshift-data:*`, `*`. */
  target: string;
  action: FaultAction;
  /** Only requests signed for this region, or one of these regions. @default - any region */
  region?: string | string[];
  /**
   * Only requests about a bucket, job, crawler or cluster whose name starts with this. A request that names
   * no resource (`s3:ListBuckets`, a statement id Redshift Data no longer knows) matches when the rule also
   * names its `region`. @default - any request
   */
  resource?: string;
  /** Fires on at most this many matching requests, then stays inert. @default - no limit */
  count?: number;
  /** Chance, 0 to 1, that the rule fires on a matching request. @default 1 */
  probability?: number;
}

/** A rule as the control API lists it. */
export interface FaultRule extends FaultRuleInput {
  id: string;
  /** How many requests it has fired on so far. */
  fired: number;
}

/** A request as fault rules see it. */
export interface FaultSubject {
  service: string;
  operation: string;
  region: string;
  resource?: string;
}

/** What the router must do with a request after the rules ran. */
export interface FaultDecision {
  latencyMs: number;
  /** The fault that ends the request instead of serving it, or acts on its response once it was served. */
  outcome?: FaultOutcome;
}

/** What a firing rule does to a request (latency aside). */
export type FaultOutcome =
  | { type: 'respond'; error: AwsErrorSpec }
  | { type: 'drop' }
  /** Serve it, then drop the connection (no `error`) or answer `error` instead of the response. */
  | { type: 'after'; error?: AwsErrorSpec }
  /** Serve it, then keep the response until released or `timeoutMs` passed. */
  | { type: 'hold'; timeoutMs: number; ruleId: string };

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map(escapeRegExp).join('.*')}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** `glue:*` matches any Glue operation; a target without a colon names a service (`s3` = `s3:*`). */
function targetMatches(target: string, subject: FaultSubject): boolean {
  const [service = '*', operation = '*'] = target.includes(':') ? target.split(':', 2) : [target, '*'];
  return globToRegExp(service).test(subject.service) && globToRegExp(operation).test(subject.operation);
}

const spec = (status: number, code: string, message: string) => ({ status, code, message });

/** What each protocol answers a throttled request, a 500 and a 503 with: AWS's own codes and statuses. */
type RefusalType = 'throttle' | 'deny' | 'requestTimeout' | 'expiredToken';

const FAULT_ERRORS: Record<RefusalType | 500 | 503, Record<AwsProtocol, AwsErrorSpec>> = {
  requestTimeout: {
    json: spec(400, 'RequestTimeoutException', 'Request timed out (gateway fault rule)'),
    other: spec(400, 'RequestTimeoutException', 'Request timed out (gateway fault rule)'),
    query: spec(400, 'RequestTimeout', 'Request timed out (gateway fault rule)'),
    s3: spec(
      400,
      'RequestTimeout',
      'Your socket connection to the server was not read from or written to within the timeout period. ' +
        'Idle connections will be closed.',
    ),
  },
  expiredToken: {
    json: spec(400, 'ExpiredTokenException', 'The security token included in the request is expired'),
    other: spec(400, 'ExpiredTokenException', 'The security token included in the request is expired'),
    query: spec(400, 'ExpiredToken', 'The security token included in the request is expired'),
    s3: spec(400, 'ExpiredToken', 'The provided token has expired.'),
  },
  deny: {
    json: spec(400, 'AccessDeniedException', 'User is not authorized to perform this action (gateway fault rule)'),
    other: spec(403, 'AccessDeniedException', 'User is not authorized to perform this action (gateway fault rule)'),
    query: spec(403, 'AccessDenied', 'User is not authorized to perform this action (gateway fault rule)'),
    s3: spec(403, 'AccessDenied', 'Access Denied'),
  },
  throttle: {
    json: spec(400, 'ThrottlingException', 'Rate exceeded'),
    other: spec(400, 'ThrottlingException', 'Rate exceeded'),
    query: spec(400, 'Throttling', 'Rate exceeded'),
    s3: spec(503, 'SlowDown', 'Please reduce your request rate.'),
  },
  500: {
    json: spec(500, 'InternalFailure', 'An internal error occurred.'),
    other: spec(500, 'InternalFailure', 'An internal error occurred.'),
    query: spec(500, 'InternalFailure', 'An internal error occurred.'),
    s3: spec(500, 'InternalError', 'We encountered an internal error. Please try again.'),
  },
  503: {
    json: spec(503, 'ServiceUnavailableException', 'Service is unable to handle request.'),
    other: spec(503, 'ServiceUnavailableException', 'Service is unable to handle request.'),
    query: spec(503, 'ServiceUnavailable', 'Service is unable to handle request.'),
    s3: spec(503, 'ServiceUnavailable', 'Service is unable to handle request.'),
  },
};

/** JSON services that model their 500 under a name of their own, which their SDK client then throws. */
const JSON_INTERNAL_ERROR_CODE: Record<string, string> = {
  glue: 'InternalServiceException',
  'redshift-data': 'InternalServerException',
};

function faultError(action: FaultAction & { type: RefusalType | 'error' }, protocol: AwsProtocol, service: string) {
  const error = FAULT_ERRORS[action.type === 'error' ? action.status : action.type][protocol];
  const ownCode = JSON_INTERNAL_ERROR_CODE[service];
  return error.status === 500 && protocol === 'json' && ownCode ? { ...error, code: ownCode } : error;
}

const ACTION_TYPES = [
  'throttle',
  'deny',
  'requestTimeout',
  'expiredToken',
  'error',
  'latency',
  'drop',
  'after',
  'hold',
  'mix',
];

/** Throws, naming the field and what it must be, when an action (or one inside a mix) is malformed. */
function checkAction(action: FaultAction, mixAllowed: boolean): void {
  if (!action || !ACTION_TYPES.includes(action.type)) {
    throw new Error(`action.type must be one of ${ACTION_TYPES.join(', ')}, got ${JSON.stringify(action)}`);
  }
  if (action.type === 'error' && action.status !== 500 && action.status !== 503) {
    throw new Error(`action.status must be 500 or 503, got ${JSON.stringify(action.status)}`);
  }
  if (action.type === 'latency' && !(action.ms >= 0)) throw new Error(`action.ms must be >= 0, got ${action.ms}`);
  if (action.type === 'after' && !['drop', 500, 503].includes(action.then)) {
    throw new Error(`action.then must be 'drop', 500 or 503, got ${JSON.stringify(action.then)}`);
  }
  if (action.type === 'hold' && action.timeoutMs !== undefined && !(action.timeoutMs > 0)) {
    throw new Error(`action.timeoutMs must be > 0, got ${JSON.stringify(action.timeoutMs)}`);
  }
  if (action.type === 'mix') {
    if (!mixAllowed) throw new Error('a mix cannot contain another mix; list its actions in the outer one');
    if (!Array.isArray(action.actions) || action.actions.length === 0) {
      throw new Error(`action.actions must be a non-empty list of actions, got ${JSON.stringify(action.actions)}`);
    }
    for (const inner of action.actions) checkAction(inner, false);
  }
}

export class FaultRules {
  private rules: FaultRule[] = [];

  /** Adds a rule after checking it; returns it with its id. */
  add(input: FaultRuleInput): FaultRule {
    const { target, action, region, resource, count, probability } = input;
    if (typeof target !== 'string' || target === '') {
      throw new Error(`target must be 'service:operation', got ${JSON.stringify(target)}`);
    }
    checkAction(action, true);
    if (probability !== undefined && !(probability >= 0 && probability <= 1)) {
      throw new Error(`probability must be between 0 and 1, got ${probability}`);
    }
    const regions = region === undefined ? [] : Array.isArray(region) ? region : [region];
    if (region !== undefined && (regions.length === 0 || regions.some((r) => typeof r !== 'string' || r === ''))) {
      throw new Error(`region must be a region name or a non-empty list of them, got ${JSON.stringify(region)}`);
    }
    if (count !== undefined && !(Number.isInteger(count) && count >= 0)) {
      throw new Error(`count must be a whole number >= 0, got ${count}`);
    }
    const rule: FaultRule = { id: randomUUID(), target, action, region, resource, count, probability, fired: 0 };
    this.rules.push(rule);
    return rule;
  }

  list(): FaultRule[] {
    return this.rules.map((rule) => ({ ...rule }));
  }

  /** Removes one rule; false when there is none with that id. */
  delete(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((rule) => rule.id !== id);
    return this.rules.length < before;
  }

  reset(): void {
    this.rules = [];
  }

  /** Runs every rule against a request: latencies add up; the first error or drop that fires ends it. */
  decide(subject: FaultSubject, protocol: AwsProtocol): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0 };
    for (const rule of this.rules) {
      if (decision.outcome && rule.action.type !== 'latency') continue;
      if (!this.fires(rule, subject)) continue;
      rule.fired += 1;
      const action =
        rule.action.type === 'mix'
          ? rule.action.actions[Math.floor(Math.random() * rule.action.actions.length)]!
          : rule.action;
      if (action.type === 'latency') decision.latencyMs += action.ms;
      // checkAction keeps mixes out of mixes.
      else if (action.type !== 'mix') decision.outcome = outcomeOf(action, rule.id, protocol, subject.service);
    }
    return decision;
  }

  private fires(rule: FaultRule, subject: FaultSubject): boolean {
    if (rule.count !== undefined && rule.fired >= rule.count) return false;
    if (rule.region !== undefined && ![rule.region].flat().includes(subject.region)) return false;
    if (rule.resource !== undefined && !this.resourceMatches(rule, subject)) return false;
    if (!targetMatches(rule.target, subject)) return false;
    return rule.probability === undefined || Math.random() < rule.probability;
  }

  /** By name prefix; a request without a resource is matched by the rule's region, when it names one. */
  private resourceMatches(rule: FaultRule, subject: FaultSubject): boolean {
    if (subject.resource === undefined) return rule.region !== undefined;
    return subject.resource.startsWith(rule.resource!);
  }
}

function outcomeOf(
  action: Exclude<FaultAction, { type: 'latency' | 'mix' }>,
  ruleId: string,
  protocol: AwsProtocol,
  service: string,
): FaultOutcome {
  switch (action.type) {
    case 'drop':
      return { type: 'drop' };
    case 'after':
      return action.then === 'drop'
        ? { type: 'after' }
        : { type: 'after', error: faultError({ type: 'error', status: action.then }, protocol, service) };
    case 'hold':
      return { type: 'hold', timeoutMs: action.timeoutMs ?? DEFAULT_HOLD_TIMEOUT_MS, ruleId };
    default:
      return { type: 'respond', error: faultError(action, protocol, service) };
  }
}
