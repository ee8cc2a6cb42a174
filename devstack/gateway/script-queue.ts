/**
 * Scripted outcomes, queued per resource name and consumed one per run. An outcome queued for a
 * region is taken before one queued for any region, so a dual-region test can script each region's
 * crawler of the same name apart.
 */
export class ScriptQueues<T> {
  private readonly queues = new Map<string, T[]>();

  /** @param validate throws with a message naming the field when an outcome is malformed */
  constructor(private readonly validate: (outcome: T) => void) {}

  private key(name: string, region?: string): string {
    return `${region ?? '*'}/${name}`;
  }

  /** Appends outcomes; returns everything now queued under that name and region. */
  add(name: string, outcomes: T[], region?: string): T[] {
    outcomes.forEach(this.validate);
    const queue = [...(this.queues.get(this.key(name, region)) ?? []), ...outcomes];
    this.queues.set(this.key(name, region), queue);
    return queue;
  }

  /** Takes the next outcome for a run in `region`, or undefined when none is queued. */
  take(name: string, region: string): T | undefined {
    return this.queues.get(this.key(name, region))?.shift() ?? this.queues.get(this.key(name))?.shift();
  }

  queued(name: string, region?: string): T[] {
    return [...(this.queues.get(this.key(name, region)) ?? [])];
  }

  clear(name: string, region?: string): void {
    this.queues.delete(this.key(name, region));
  }

  reset(): void {
    this.queues.clear();
  }
}
