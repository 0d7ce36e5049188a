// Helpers for tests that start real peers (Prometheus, the Pushgateway, Alertmanager) on 127.0.0.1:
// a free port to give them, and a bounded poll for the state a test waits for.
import { createServer } from 'node:net';
import { until } from './until.ts';

/** A port nothing listens on right now (the OS picks it; the peer binds it next). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Appended to the timeout error, e.g. the tail of the peer's log. */
  context?: () => string;
}

/**
 * Polls `probe` until it returns a value (a probe that throws counts as not yet), for at most
 * `timeoutMs`; the error names what was awaited.
 */
export function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  return until(what, () => probe().catch(() => undefined), options.timeoutMs, options.intervalMs, options.context);
}
