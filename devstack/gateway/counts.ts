/**
 * Request counts per `service:operation`, kept per resource (bucket, job, crawler, cluster) so that
 * tests sharing one stack read and reset only their own: each test names its resources with a
 * unique prefix and filters by it.
 */

/** How often one `service:operation` was called, and how many of those calls got an injected fault. */
export interface OperationCount {
  count: number;
  faulted: number;
}

/** Counts by `service:operation`, e.g. `{ "glue:StartJobRun": { count: 1, faulted: 0 } }`. */
export type RequestCounts = Record<string, OperationCount>;

interface CountKey {
  service: string;
  operation: string;
  /** The bucket, job, crawler or cluster the request is about, when it names one. */
  resource?: string;
}

export class RequestCounter {
  /** `service:operation` → resource ('' for none) → count. */
  private readonly counts = new Map<string, Map<string, OperationCount>>();

  /** Counts one request. */
  record(key: CountKey, faulted: boolean): void {
    const name = `${key.service}:${key.operation}`;
    let byResource = this.counts.get(name);
    if (!byResource) this.counts.set(name, (byResource = new Map()));
    const entry = byResource.get(key.resource ?? '') ?? { count: 0, faulted: 0 };
    entry.count += 1;
    if (faulted) entry.faulted += 1;
    byResource.set(key.resource ?? '', entry);
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
