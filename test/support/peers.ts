// Helpers for tests that start real peers (Prometheus, the Pushgateway, Alertmanager) on 127.0.0.1:
// a free port to give them, and a bounded poll for the state a test waits for.
import { createServer } from 'node:net';
import { until } from './until.ts';

/** A port nothing listens on right now (the OS picks it; the peer binds it next). */
/**
 * Ports handed to peers we spawn (nats-server, Prometheus, Alertmanager, Pushgateway), which bind
 * them a moment after we release them. Taken below the kernel's ephemeral range (32768–60999 by
 * default), which bind(0) of every other test server and every outgoing connection draw from, so
 * none of those can take the port in between.
 */
const PEER_PORT_FIRST = 20_000;
const PEER_PORT_COUNT = 12_000;
const PEER_PORT_ATTEMPTS = 50;

/** A port on 127.0.0.1 that was free a moment ago, outside the kernel's ephemeral range. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < PEER_PORT_ATTEMPTS; attempt++) {
    const port = PEER_PORT_FIRST + Math.floor(Math.random() * PEER_PORT_COUNT);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port among ${PEER_PORT_ATTEMPTS} random tries in ${PEER_PORT_FIRST}-${PEER_PORT_FIRST + PEER_PORT_COUNT - 1}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
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
