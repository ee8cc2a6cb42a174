/**
 * The gateway's time: scripted durations are in AWS seconds and pass `scale` times faster in real
 * time, so a benchmark can run a 600 s Glue job in 10 s and still see ExecutionTime 600; and AWS's
 * clock can be set apart from the worker's (`offsetMs`), as a real account's clock is never quite
 * the worker's, so the Glue timestamps the gateway makes (StartedOn, CompletedOn, LastCrawl.StartTime, the
 * crawls' StartTime in ListCrawls) and S3's LastModified come from one clock the worker does not share.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class TimeScale {
  private value = 1;
  private offset = 0;

  /** How far AWS's clock is ahead of the machine's (negative: behind), in ms. @default 0 */
  get offsetMs(): number {
    return this.offset;
  }

  setOffset(offsetMs: number): void {
    if (!Number.isFinite(offsetMs)) throw new Error(`offsetMs must be a number of milliseconds, got ${offsetMs}`);
    this.offset = offsetMs;
  }

  /** AWS's clock: the machine's, shifted by {@link offsetMs}. */
  now(): number {
    return Date.now() + this.offset;
  }

  /** How many AWS seconds pass in one real second. @default 1 */
  get scale(): number {
    return this.value;
  }

  set(scale: number): void {
    if (!(Number.isFinite(scale) && scale > 0)) throw new Error(`time scale must be a number > 0, got ${scale}`);
    this.value = scale;
  }

  /** Real milliseconds that `seconds` AWS seconds take at the current scale. */
  realMs(seconds: number): number {
    return (seconds * 1000) / this.value;
  }

  /** Waits `seconds` AWS seconds; rejects with an AbortError when the signal aborts. */
  async sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    await sleep(this.realMs(seconds), undefined, { signal });
  }
}
