// A KV watch that restarts when it stops. The client's watch ends when it gives up recreating its
// consumer (30 failed creations before a first message, e.g. an empty bucket through a long NATS
// outage) or throws; a replica whose watch ended would keep serving stale state until restarted.
// Here the watch is started again after a pause that doubles from minDelayMs to maxDelayMs, and
// goes back to minDelayMs once a restarted watch delivers. A restarted watch first delivers every
// key's current value (deletes included), so entries missed while stopped are caught up.

import type { KV, KvWatchEntry } from '@nats-io/kv';

export type KvWatch = Awaited<ReturnType<KV['watch']>>;

export interface RestartingWatchOptions {
  /** Starts one watch (kv.watch()); called again after each stop. */
  start(): Promise<KvWatch>;
  apply(entry: KvWatchEntry): void;
  /** Told about every stop and failed restart (the watch keeps retrying). */
  onError(error: Error): void;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface RestartingWatch {
  /** Watches started so far (1 + restarts). */
  readonly starts: number;
  stop(): void;
}

const MIN_DELAY_MS = 100;
const MAX_DELAY_MS = 10_000;

/** Runs `first` (already started, so a caller sees start-up errors) and restarts it whenever it stops. */
export function restartingWatch(first: KvWatch, options: RestartingWatchOptions): RestartingWatch {
  const minDelayMs = options.minDelayMs ?? MIN_DELAY_MS;
  const maxDelayMs = options.maxDelayMs ?? MAX_DELAY_MS;
  let current: KvWatch | undefined = first;
  let stopped = false;
  let starts = 1;
  let wake: (() => void) | undefined;
  const pause = (delayMs: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, delayMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  void (async () => {
    let delayMs = minDelayMs;
    // Bounded by stop(): every pass either waits delayMs or consumes a live watch.
    while (!stopped) {
      if (current !== undefined) {
        let reason = 'it ended';
        try {
          for await (const entry of current) {
            delayMs = minDelayMs;
            options.apply(entry);
          }
        } catch (error) {
          reason = (error as Error).message;
        }
        current = undefined;
        if (stopped) return;
        options.onError(new Error(`watch stopped (${reason}); restarting in ${delayMs} ms`));
      }
      await pause(delayMs);
      delayMs = Math.min(maxDelayMs, delayMs * 2);
      if (stopped) return;
      try {
        current = await options.start();
        starts++;
        if (stopped) current.stop();
      } catch (error) {
        options.onError(new Error(`watch restart failed (${(error as Error).message}); next try in ${delayMs} ms`));
      }
    }
  })();
  return {
    get starts() {
      return starts;
    },
    stop: () => {
      stopped = true;
      current?.stop();
      wake?.();
    },
  };
}
