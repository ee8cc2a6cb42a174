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

/** Waits until `list` holds an item `match` keeps, and returns it (the holds of the gateway and the mail sink). */
export async function waitForItem<T>(
  list: () => Promise<T[]>,
  match: (item: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const found = await pollUntil(
    async () => (await list()).find(match),
    (item) => item !== undefined,
    { timeoutMs, intervalMs: 100 },
  );
  return found!;
}

/** A JSON call to a local control API (the gateway's, the mail sink's); fails naming `what` and the answer. */
export async function controlCall<T>(what: string, url: string, method: string, body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} ${method} ${new URL(url).pathname} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}
