/**
 * Typed client for the SMTP sink's HTTP side (devstack/mail-sink.ts): the messages it stored and the holds on
 * its reply to the end of DATA, the mail counterpart of the gateway's holds (./gateway.ts).
 */
import type { HeldReply, SinkMessage } from '../mail-sink';
import { controlCall, waitForItem } from './poll';
import { stack } from './stack';

export type { HeldReply, SinkMessage };

export class MailSinkControl {
  private readonly baseUrl: string;

  /** @param inboxUrl the sink's `/messages` URL @default - the test stack's */
  constructor(inboxUrl = stack().smtp.inboxUrl) {
    this.baseUrl = inboxUrl.replace(/\/messages$/, '');
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return controlCall('mail sink', `${this.baseUrl}/${path}`, method, body);
  }

  /** Every stored message, oldest first. */
  messages(): Promise<SinkMessage[]> {
    return this.call('GET', 'messages');
  }

  /** Stored messages per Message-ID, among those `match` keeps. */
  async deliveriesById(match: (m: SinkMessage) => boolean): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const m of (await this.messages()).filter(match)) counts.set(m.messageId, (counts.get(m.messageId) ?? 0) + 1);
    return counts;
  }

  /** Holds the reply to the end of DATA of the next `count` messages (after they are stored). */
  async holdNext(count: number, timeoutMs?: number): Promise<void> {
    await this.call('POST', 'holds', { count, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  }

  /** Replies held now, oldest first. */
  holds(): Promise<HeldReply[]> {
    return this.call('GET', 'holds');
  }

  /** Waits until a reply matching `match` is held and returns it. @param timeoutMs @default 120_000 */
  waitForHold(match: (held: HeldReply) => boolean, timeoutMs = 120_000): Promise<HeldReply> {
    return waitForItem(() => this.holds(), match, timeoutMs);
  }

  /** Sends a held reply (nothing, if the client has gone). */
  async release(id: string): Promise<void> {
    await this.call('POST', `holds/${encodeURIComponent(id)}/release`);
  }

  /** Sends every held reply and disarms the holds still to come. @returns how many were held */
  async releaseAll(): Promise<number> {
    await this.holdNext(0);
    return (await this.call<{ released: number }>('POST', 'holds/release')).released;
  }
}
