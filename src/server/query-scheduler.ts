// Admission for queries, after Loki's query scheduler and querier `max_concurrent`: at most
// `maxConcurrent` queries evaluate at once over all tenants, at most `maxConcurrentPerTenant` of one
// tenant; the rest wait in a queue per tenant, served round-robin so one tenant's burst cannot hold
// the others back. A tenant with `maxQueuedPerTenant` queries waiting gets 429 "too many outstanding
// requests"; a query whose deadline or client goes while it waits leaves the queue.

export class TooManyOutstandingRequestsError extends Error {
  readonly statusCode = 429;
  constructor() {
    // Loki's scheduler answers exactly this.
    super('too many outstanding requests');
    this.name = 'TooManyOutstandingRequestsError';
  }
}

export interface QuerySchedulerLimits {
  maxConcurrent: number;
  maxConcurrentPerTenant: number;
  maxQueuedPerTenant: number;
}

interface Waiter {
  start: () => void;
}

export class QueryScheduler {
  private readonly limits: QuerySchedulerLimits;
  private running = 0;
  private readonly runningByTenant = new Map<string, number>();
  /** Tenants with waiting queries, in round-robin order; each queue is non-empty. */
  private readonly queues = new Map<string, Waiter[]>();

  constructor(limits: QuerySchedulerLimits) {
    this.limits = limits;
  }

  /** Queries running and waiting, for /metrics. */
  counts(): { running: number; queued: number } {
    let queued = 0;
    for (const queue of this.queues.values()) queued += queue.length;
    return { running: this.running, queued };
  }

  /** Runs `query` once a slot is free. Rejects with the signal's reason if it aborts while waiting. */
  async run<T>(tenant: string, signal: AbortSignal | undefined, query: () => Promise<T>): Promise<T> {
    if (!this.canStart(tenant)) await this.wait(tenant, signal);
    else this.take(tenant);
    try {
      return await query();
    } finally {
      this.release(tenant);
    }
  }

  private canStart(tenant: string): boolean {
    return this.running < this.limits.maxConcurrent && (this.runningByTenant.get(tenant) ?? 0) < this.limits.maxConcurrentPerTenant && !this.queues.has(tenant);
  }

  private take(tenant: string): void {
    this.running++;
    this.runningByTenant.set(tenant, (this.runningByTenant.get(tenant) ?? 0) + 1);
  }

  private wait(tenant: string, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const queue = this.queues.get(tenant) ?? [];
    if (queue.length >= this.limits.maxQueuedPerTenant) throw new TooManyOutstandingRequestsError();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const waiting = this.queues.get(tenant);
        const index = waiting?.indexOf(waiter) ?? -1;
        if (index >= 0) {
          waiting!.splice(index, 1);
          if (waiting!.length === 0) this.queues.delete(tenant);
        }
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      queue.push(waiter);
      this.queues.set(tenant, queue);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(tenant: string): void {
    this.running--;
    const left = (this.runningByTenant.get(tenant) ?? 1) - 1;
    if (left === 0) this.runningByTenant.delete(tenant);
    else this.runningByTenant.set(tenant, left);
    // The tenant that just had a turn goes to the back of the round-robin.
    const queue = this.queues.get(tenant);
    if (queue !== undefined) {
      this.queues.delete(tenant);
      this.queues.set(tenant, queue);
    }
    this.dispatch();
  }

  /** Starts waiting queries, one tenant at a time in turn, while slots are free. */
  private dispatch(): void {
    let skipped = 0;
    while (this.running < this.limits.maxConcurrent && this.queues.size > 0 && skipped < this.queues.size) {
      const [tenant, queue] = this.queues.entries().next().value as [string, Waiter[]];
      // Move the tenant to the back of the round-robin either way.
      this.queues.delete(tenant);
      if ((this.runningByTenant.get(tenant) ?? 0) >= this.limits.maxConcurrentPerTenant) {
        this.queues.set(tenant, queue);
        skipped++;
        continue;
      }
      skipped = 0;
      const waiter = queue.shift()!;
      if (queue.length > 0) this.queues.set(tenant, queue);
      this.take(tenant);
      waiter.start();
    }
  }
}
