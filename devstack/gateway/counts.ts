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

export class RequestCounter {
  /** `service:operation` → resource ('' for none) → count. */
  private readonly counts = new Map<string, Map<string, OperationCount>>();

  /** Counts one request; `stalled` when a latency rule delayed it. */
  record(key: CountKey, faulted: boolean, stalled = false): void {
    const name = `${key.service}:${key.operation}`;
    let byResource = this.counts.get(name);
    if (!byResource) this.counts.set(name, (byResource = new Map()));
    const where = key.resource ?? regionKey(key.region);
    const entry = byResource.get(where) ?? { count: 0, faulted: 0 };
    entry.count += 1;
    if (faulted) entry.faulted += 1;
    if (stalled) entry.stalled = (entry.stalled ?? 0) + 1;
    byResource.set(where, entry);
  }

  /**
   * The counts, summed over resources.
   * @param resourcePrefix only requests about a resource whose name starts with this
   */
  read(resourcePrefix?: string): RequestCounts {
    const result: RequestCounts = {};
    for (const [name, byResource] of [...this.counts].sort(([a], [b]) => a.localeCompare(b))) {
      for (const [resource, entry] of byResource) {
        if (resourcePrefix !== undefined && !(resource && resource.startsWith(resourcePrefix))) continue;
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
    for (const byResource of this.counts.values()) {
      for (const resource of byResource.keys()) if (resource.startsWith(resourcePrefix)) byResource.delete(resource);
    }
  }
}
