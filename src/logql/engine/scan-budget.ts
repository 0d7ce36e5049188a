// The byte budget of scans (issue 9: heads, WAL buffers, block encoders and scans each get one): the
// raw bytes of blocks that all queries of the process hold decoded at once. A scan acquires a block
// batch's bytes before it loads the batch and gives them back once the batch is scanned; a chunk sent
// to a scan worker holds the bytes of its largest block (a worker decodes one block at a time) until
// the worker answers. Past the budget, scans wait in arrival order, so many concurrent queries cost
// about the budget in decoded blocks instead of 4 blocks each.

import type { BlockRef } from '../../store/types.ts';

/** What a wait needs from the query: its deadline, its cancellation, and the check that throws once either ends it. */
export interface BudgetWaiter {
  readonly deadlineMs: number;
  readonly signal: AbortSignal | undefined;
  checkDeadline(): void;
}

interface Waiting {
  bytes: number;
  grant: () => void;
}

export interface ScanBudgetStats {
  capacityBytes: number;
  inUseBytes: number;
  /** The most bytes held at once since start. */
  peakBytes: number;
  /** Acquisitions that had to wait for others to give bytes back. */
  waits: number;
}

export class ScanBudget {
  readonly capacityBytes: number;
  private inUseBytes = 0;
  private peakBytes = 0;
  private waits = 0;
  private readonly queue: Waiting[] = [];

  constructor(capacityBytes: number) {
    if (!(capacityBytes > 0)) throw new Error(`scan budget must be positive, got ${capacityBytes}`);
    this.capacityBytes = capacityBytes;
  }

  stats(): ScanBudgetStats {
    return { capacityBytes: this.capacityBytes, inUseBytes: this.inUseBytes, peakBytes: this.peakBytes, waits: this.waits };
  }

  /**
   * Takes `bytes` (at most the whole budget: one block larger than the budget still runs, alone) and
   * returns the function that gives them back. Waits while others hold the budget; a query that runs
   * past its deadline or is cancelled while waiting fails as it would between blocks.
   */
  async acquire(requestedBytes: number, waiter: BudgetWaiter): Promise<() => void> {
    const bytes = Math.min(Math.max(0, requestedBytes), this.capacityBytes);
    if (this.queue.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return this.releaser(bytes);
    }
    this.waits++;
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const entry: Waiting = {
        bytes,
        grant: () => {
          cleanup();
          resolve();
        },
      };
      // The query's own check says whether (and with which error) it is over: timed out or cancelled.
      const check = (): void => {
        try {
          waiter.checkDeadline();
        } catch (error) {
          cleanup();
          const index = this.queue.indexOf(entry);
          if (index >= 0) this.queue.splice(index, 1);
          // This entry may have been the queue's head: those behind it may fit now.
          this.pump();
          reject(error as Error);
          return;
        }
        timer = setTimeout(check, Math.max(1, waiter.deadlineMs - Date.now() + 1));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        waiter.signal?.removeEventListener('abort', check);
      };
      timer = setTimeout(check, Math.max(1, waiter.deadlineMs - Date.now() + 1));
      waiter.signal?.addEventListener('abort', check, { once: true });
      this.queue.push(entry);
    });
    return this.releaser(bytes);
  }

  private fits(bytes: number): boolean {
    return this.inUseBytes === 0 || this.inUseBytes + bytes <= this.capacityBytes;
  }

  private take(bytes: number): void {
    this.inUseBytes += bytes;
    if (this.inUseBytes > this.peakBytes) this.peakBytes = this.inUseBytes;
  }

  private releaser(bytes: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUseBytes -= bytes;
      this.pump();
    };
  }

  /** Grants waiting acquisitions in arrival order while they fit. */
  private pump(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0]!.bytes)) {
      const next = this.queue.shift()!;
      this.take(next.bytes);
      next.grant();
    }
  }
}

/** What loading these blocks at once costs the budget: their raw sizes together. */
export function rawBytesOf(refs: readonly BlockRef[]): number {
  let bytes = 0;
  for (const ref of refs) bytes += ref.rawBytes;
  return bytes;
}

/** What a scan worker holds at a time while it scans a chunk: its largest block. */
export function largestBlockBytes(refs: readonly BlockRef[]): number {
  let bytes = 0;
  for (const ref of refs) if (ref.rawBytes > bytes) bytes = ref.rawBytes;
  return bytes;
}
