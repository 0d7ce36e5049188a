// Loki's tail over WebSocket: frames of {streams, dropped_entries}. The socket knows nothing of React;
// it hands parsed frames to callbacks and reports why it closed.
import type { RawStream } from '../api/loki-client.ts';
import { getTenant } from '../api/loki-client.ts';

export interface TailFrame {
  streams: RawStream[];
  droppedEntries: number;
}

export interface TailHandlers {
  onOpen(): void;
  onFrame(frame: TailFrame): void;
  onClose(reason: string, wasError: boolean): void;
}

export interface TailOptions {
  query: string;
  /** Lines from before the start of the tail to replay first. */
  replaySinceMs: number;
  limit: number;
}

export function tailUrl(options: TailOptions, location: Location = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const params = new URLSearchParams({
    query: options.query,
    limit: String(options.limit),
    start: (BigInt(Date.now() - options.replaySinceMs) * 1_000_000n).toString(),
  });
  // Browsers cannot set headers on a WebSocket; the tenant travels as a parameter the server may honour.
  const tenant = getTenant();
  if (tenant !== '') params.set('orgId', tenant);
  return `${scheme}//${location.host}/loki/api/v1/tail?${params.toString()}`;
}

/** Opens the tail; returns a function that closes it. */
export function openTail(options: TailOptions, handlers: TailHandlers): () => void {
  const socket = new WebSocket(tailUrl(options));
  let closedByUs = false;
  let opened = false;
  socket.onopen = () => {
    opened = true;
    handlers.onOpen();
  };
  socket.onmessage = (event) => {
    if (typeof event.data !== 'string') return;
    let parsed: { streams?: RawStream[]; dropped_entries?: unknown[] };
    try {
      parsed = JSON.parse(event.data) as typeof parsed;
    } catch {
      // Loki sends errors after the upgrade as a plain text message.
      handlers.onClose(event.data, true);
      return;
    }
    handlers.onFrame({ streams: parsed.streams ?? [], droppedEntries: parsed.dropped_entries?.length ?? 0 });
  };
  socket.onclose = (event) => {
    if (closedByUs) return;
    const reason = event.reason !== '' ? event.reason : opened ? `connection closed (code ${event.code})` : `could not open the live tail (code ${event.code})`;
    handlers.onClose(reason, event.code !== 1000);
  };
  return () => {
    closedByUs = true;
    socket.close(1000, 'closed by the user');
  };
}
