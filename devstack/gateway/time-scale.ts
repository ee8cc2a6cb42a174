/**
 * The gateway's time scale: scripted durations are in AWS seconds and pass `scale` times faster in
 * real time, so a benchmark can run a 600 s Glue job in 10 s and still see ExecutionTime 600.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class TimeScale {
  private value = 1;

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
