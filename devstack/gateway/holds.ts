/**
 * Faults that act after the request took effect: the gateway serves the request into a
 * {@link CapturedResponse} (from its own services or from moto), then drops the connection, answers an
 * error instead, or keeps the response back in {@link Holds} until a test releases it. This is the
 * window where a caller that dies or retries can start a second Glue run or a second statement.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { Writable } from 'node:stream';
import { writeAwsError, type AwsProtocol } from './aws-protocol';
import type { FaultOutcome } from './faults';

/**
 * A response served but not yet sent: the router writes the gateway's or moto's answer into it as into a
 * ServerResponse (`writeHead`, then `write`/`end` or a pipe), and a fault acts on it afterwards.
 */
export class CapturedResponse extends Writable {
  status = 0;
  headers: http.OutgoingHttpHeaders = {};
  headersSent = false;
  private readonly chunks: Buffer[] = [];
  /** Settles once the whole response was written; rejects if the writer gave up (destroyed it). */
  readonly finished: Promise<void>;

  constructor() {
    super();
    this.finished = new Promise((resolve, reject) => {
      this.on('finish', resolve);
      this.on('close', () => reject(new Error('the served response was destroyed before it was complete')));
    });
    // A destroyed capture is reported through `finished`, not as an unhandled rejection.
    this.finished.catch(() => {});
  }

  writeHead(status: number, headers: http.OutgoingHttpHeaders = {}): this {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    done();
  }

  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Sends it as it was served; the body is whole, so its length replaces any chunked encoding. */
  sendTo(res: http.ServerResponse): void {
    const body = this.body;
    const headers = { ...this.headers, 'content-length': body.length };
    delete headers['transfer-encoding'];
    res.writeHead(this.status, headers).end(body);
  }
}

/** Longest served body a hold lists; bigger ones (S3 objects) are left out. */
const LISTED_BODY_BYTES = 16 * 1024;

function jsonBody(served: CapturedResponse): unknown {
  if (!String(served.headers['content-type'] ?? '').includes('json') || served.body.length > LISTED_BODY_BYTES) {
    return undefined;
  }
  try {
    return JSON.parse(served.body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A held response as the control API lists it. */
export interface HeldResponse {
  id: string;
  /** The fault rule that holds it. */
  ruleId: string;
  service: string;
  operation: string;
  region: string;
  resource?: string;
  /** The served response's HTTP status (what the caller gets on release). */
  status: number;
  /** The served JSON body (a JobRunId, a statement Id), so a test can compare it with what a retry got. */
  response?: unknown;
  heldAt: string;
  timeoutMs: number;
  /** True once the caller closed its connection (it died or gave up): the release then sends nothing. */
  callerGone: boolean;
}

interface Held {
  info: HeldResponse;
  release: () => void;
}

/** What a request is about, as holds list it. */
export interface HeldSubject {
  service: string;
  operation: string;
  region: string;
  resource?: string;
}

/** Responses kept back by `hold` rules, each until released or its timeout. */
export class Holds {
  private readonly held = new Map<string, Held>();

  /** Keeps `served` back, then sends it to `res` unless the caller has gone. */
  async hold(
    subject: HeldSubject,
    outcome: FaultOutcome & { type: 'hold' },
    served: CapturedResponse,
    res: http.ServerResponse,
  ): Promise<void> {
    const info: HeldResponse = {
      id: randomUUID(),
      ruleId: outcome.ruleId,
      ...subject,
      status: served.status,
      response: jsonBody(served),
      heldAt: new Date().toISOString(),
      timeoutMs: outcome.timeoutMs,
      callerGone: false,
    };
    res.on('close', () => (info.callerGone = true));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, outcome.timeoutMs);
      this.held.set(info.id, { info, release: () => (clearTimeout(timer), resolve()) });
    });
    this.held.delete(info.id);
    if (!info.callerGone && !res.destroyed) served.sendTo(res);
  }

  list(): HeldResponse[] {
    return [...this.held.values()].map(({ info }) => ({ ...info }));
  }

  /** Sends one held response; false when nothing is held under that id. */
  release(id: string): boolean {
    const held = this.held.get(id);
    held?.release();
    return held !== undefined;
  }

  /** Sends every held response. @returns how many there were */
  releaseAll(): number {
    const all = [...this.held.values()];
    for (const held of all) held.release();
    return all.length;
  }
}

/**
 * Acts on a request that was served into `served` under an `after` or `hold` fault: drops the
 * connection, answers the rule's error, or holds the response back.
 */
export async function actAfterServe(
  outcome: FaultOutcome & { type: 'after' | 'hold' },
  served: CapturedResponse,
  context: { req: http.IncomingMessage; res: http.ServerResponse; protocol: AwsProtocol; subject: HeldSubject },
  holds: Holds,
): Promise<void> {
  const { req, res, protocol, subject } = context;
  if (outcome.type === 'hold') return holds.hold(subject, outcome, served, res);
  if (!outcome.error) return void req.socket.destroy();
  writeAwsError(res, protocol, outcome.error, req.method);
}
