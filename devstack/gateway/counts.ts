/**
 * Request counts per `service:operation`, kept per resource (bucket, job, crawler, cluster) so that
 * tests sharing one stack read and reset only their own: each test names its resources with a
 * unique prefix and filters by it. A request that names no resource (`GetCrawlerMetrics` of a name
 * list, `ListBuckets`) is kept under `@<region>`, so a test can read those of one region as well.
 */

/** How often one `service:operation` was called, and how many of those calls got an injected fault. */
export interface OperationCount {
  count: number;
  faulted: number;
  /** Requests a latency rule (a stall) delayed, then served as usual; present only when there were some. */
  stalled?: number;
}

/** Counts by `service:operation`, e.g. `{ "glue:StartJobRun": { count: 1, faulted: 0 } }`. */
export type RequestCounts = Record<string, OperationCount>;

interface CountKey {
  service: string;
  operation: string;
  /** The bucket, job, crawler or cluster the request is about, when it names one. */
  resource?: string;
  /** The region the request was signed for: resource-less requests are counted under `@<region>`. */
  region?: string;
}

/** Where a request without a resource is counted: `@<region>`, or '' when the region is unknown too. */
export const regionKey = (region: string | undefined): string => (region ? `@${region}` : '');

/** The counts of one resource (`where`) in one region. */
interface CountCell {
  where: string;
  region: string;
  entry: OperationCount;
}

export class RequestCounter {
  /** `service:operation` → cells by resource ('' for none) and region. */
  private readonly counts = new Map<string, Map<string, CountCell>>();

  /** Counts one request; `stalled` when a latency rule delayed it. */
  record(key: CountKey, faulted: boolean, stalled = false): void {
    const name = `${key.service}:${key.operation}`;
    let cells = this.counts.get(name);
    if (!cells) this.counts.set(name, (cells = new Map()));
    const where = key.resource ?? regionKey(key.region);
    const region = key.region ?? '';
    const id = `${where}\n${region}`;
    const cell = cells.get(id) ?? { where, region, entry: { count: 0, faulted: 0 } };
    cell.entry.count += 1;
    if (faulted) cell.entry.faulted += 1;
    if (stalled) cell.entry.stalled = (cell.entry.stalled ?? 0) + 1;
    cells.set(id, cell);
  }

  /**
   * The counts, summed over resources (and regions).
   * @param resourcePrefix only requests about a resource whose name starts with this
   * @param region only requests signed for this region (resources of one name in two regions, say)
   */
  read(resourcePrefix?: string, region?: string): RequestCounts {
    const result: RequestCounts = {};
    for (const [name, cells] of [...this.counts].sort(([a], [b]) => a.localeCompare(b))) {
      for (const { where, region: signedFor, entry } of cells.values()) {
        if (resourcePrefix !== undefined && !(where && where.startsWith(resourcePrefix))) continue;
        if (region !== undefined && signedFor !== region) continue;
        const sum = (result[name] ??= { count: 0, faulted: 0 });
        sum.count += entry.count;
        sum.faulted += entry.faulted;
        if (entry.stalled) sum.stalled = (sum.stalled ?? 0) + entry.stalled;
      }
    }
    return result;
  }

  /** Forgets counts: all of them, or only those about resources whose name starts with the prefix. */
  reset(resourcePrefix?: string): void {
    if (resourcePrefix === undefined) return this.counts.clear();
    for (const cells of this.counts.values()) {
      for (const [id, { where }] of cells) if (where.startsWith(resourcePrefix)) cells.delete(id);
    }
  }
}
