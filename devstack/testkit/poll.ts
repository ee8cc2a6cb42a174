import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `read` until `done` holds for its result, and returns that result; fails after `timeoutMs`. The
 * default is generous: on a loaded 2-core machine the local Redshift takes half a minute to open a database.
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 60_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`still not done after ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await sleep(intervalMs);
  }
}
