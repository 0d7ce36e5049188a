// Ingest: concurrent pushers POST the pre-encoded protobuf+snappy batches to the server's Loki push
// endpoint; every batch must be answered 204 (which rankscope sends only after the WAL fsync).

import type { PushBatch } from './dataset.ts';
import type { ServerChild } from './server-child.ts';

export interface IngestResult {
  wallSeconds: number;
  /** Server CPU seconds spent while the pushes ran. */
  serverCpuSeconds: number;
  /** The server's total CPU seconds when the last push was answered. */
  serverCpuSecondsAtEnd: number;
  /** Harness CPU seconds (HTTP client) over the same interval. */
  clientCpuSeconds: number;
  peakRssBytes: number;
  batches: number;
  entries: number;
  rawBytes: number;
  wireBytes: number;
  /** Requests answered 429 and retried. */
  throttled: number;
}

const PUSH_TIMEOUT_MS = 120_000;
const MAX_ATTEMPTS = 20;

export async function runIngest(server: ServerChild, batches: PushBatch[], pushers: number): Promise<IngestResult> {
  const before = server.usage();
  const clientBefore = process.cpuUsage();
  const startedMs = performance.now();
  let next = 0;
  let throttled = 0;
  let wireBytes = 0;

  const pushOne = async (batch: PushBatch, index: number): Promise<void> => {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const response = await fetch(`${server.url}/loki/api/v1/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: batch.body,
        signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.status === 204) return;
      if (response.status === 429 && attempt < MAX_ATTEMPTS) {
        // A rate limit would measure the limit, not the server: the harness configures it off, so a
        // 429 is counted and shown; the backoff keeps the run going if a limit applies anyway.
        throttled++;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        continue;
      }
      throw new Error(`push of batch ${index} answered ${response.status}: ${text.slice(0, 300)}`);
    }
  };

  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const index = next++;
      const batch = batches[index]!;
      wireBytes += batch.body.length;
      await pushOne(batch, index);
    }
  };
  await Promise.all(Array.from({ length: pushers }, worker));
  const wallSeconds = (performance.now() - startedMs) / 1000;
  const after = server.usage();
  const client = process.cpuUsage(clientBefore);
  return {
    wallSeconds,
    serverCpuSeconds: after.cpuSeconds - before.cpuSeconds,
    serverCpuSecondsAtEnd: after.cpuSeconds,
    clientCpuSeconds: (client.user + client.system) / 1e6,
    peakRssBytes: after.peakRssBytes,
    batches: batches.length,
    entries: batches.reduce((sum, batch) => sum + batch.entries, 0),
    rawBytes: batches.reduce((sum, batch) => sum + batch.rawBytes, 0),
    wireBytes,
    throttled,
  };
}
