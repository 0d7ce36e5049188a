// Durability: a server child process is SIGKILLed in the middle of concurrent pushes, then restarted
// on the same data directory. Every push that was answered 204 must be present exactly once. JSON
// pushes are logged re-encoded (WAL record version 3); protobuf ones accepted as they came are logged
// as their body (version 4).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePushRequest } from '../../src/push/protobuf.ts';
import { startServerProcess } from '../cli/server-process.ts';

const WORKERS = 8;
const BATCHES_PER_WORKER = 25;
const LINES_PER_BATCH = 20;
/** Kill once this many batches are acknowledged, while the rest are still in flight. */
const KILL_AFTER_ACKED_BATCHES = 60;

for (const format of ['json', 'protobuf'] as const) {
  test(`SIGKILL mid-push loses no acknowledged line and duplicates none (${format} pushes)`, { timeout: 60_000 }, () => pushKillRestart(format));
}

async function pushKillRestart(format: 'json' | 'protobuf'): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-crash-'));
  try {
    const first = await startServerProcess(['--data-dir', dataDir]);
    const baseNs = BigInt(Date.now()) * 1_000_000n;
    const acked = new Set<string>();
    let ackedBatches = 0;
    let killed = false;
    const worker = async (w: number) => {
      for (let b = 0; b < BATCHES_PER_WORKER && !killed; b++) {
        const values = Array.from({ length: LINES_PER_BATCH }, (_, i) => {
          const seq = (w * BATCHES_PER_WORKER + b) * LINES_PER_BATCH + i;
          return [String(baseNs + BigInt(seq)), `w${w} b${b} l${i} payload ${'x'.repeat(50)}`];
        });
        try {
          const labels = { job: 'crash', worker: String(w) };
          const request =
            format === 'json'
              ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ streams: [{ stream: labels, values }] }) }
              : { headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(encodePushRequest([{ labels, entries: values.map(([timestampNs, line]) => ({ timestampNs: BigInt(timestampNs!), line: line! })) }])) };
          const response = await fetch(`${first.url}/loki/api/v1/push`, { method: 'POST', ...request });
          if (response.status === 204) {
            for (const [, line] of values) acked.add(line!);
            ackedBatches++;
            if (ackedBatches >= KILL_AFTER_ACKED_BATCHES && !killed) {
              killed = true;
              first.kill('SIGKILL');
            }
          }
        } catch {
          // The connection died with the server: this batch was never acknowledged.
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    assert.ok(killed, 'the server was killed while pushes were running');
    await first.exited;
    assert.ok(acked.size >= KILL_AFTER_ACKED_BATCHES * LINES_PER_BATCH);

    const second = await startServerProcess(['--data-dir', dataDir]);
    try {
      const params = new URLSearchParams({
        query: '{job="crash"}',
        start: String(baseNs - 1_000_000_000n),
        end: String(baseNs + 60_000_000_000n),
        limit: '5000',
        direction: 'forward',
      });
      const response = await fetch(`${second.url}/loki/api/v1/query_range?${params}`);
      assert.equal(response.status, 200, await response.clone().text());
      const body = (await response.json()) as { data: { result: Array<{ values: Array<[string, string]> }> } };
      const counts = new Map<string, number>();
      for (const stream of body.data.result) for (const [, line] of stream.values) counts.set(line, (counts.get(line) ?? 0) + 1);
      const missing = [...acked].filter((line) => !counts.has(line));
      const duplicated = [...counts].filter(([, count]) => count > 1).map(([line]) => line);
      assert.deepEqual(missing, [], `${missing.length} acknowledged lines missing`);
      assert.deepEqual(duplicated, [], `${duplicated.length} lines duplicated`);
      // Batches in flight at the kill may or may not have landed, but only whole (one WAL record each).
      const byBatch = new Map<string, number>();
      for (const line of counts.keys()) {
        const batch = line.split(' l')[0]!;
        byBatch.set(batch, (byBatch.get(batch) ?? 0) + 1);
      }
      for (const [batch, lines] of byBatch) assert.equal(lines, LINES_PER_BATCH, `batch ${batch} is partial`);
    } finally {
      second.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
