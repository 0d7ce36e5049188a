// Durability of remote_write: a server child process is SIGKILLed in the middle of concurrent
// remote_write requests. The TSDB is then opened on the same data directory (WAL replay): every
// sample answered 204 is there, and after the flush on close each is stored exactly once in blocks.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FilesystemObjectStore } from '../../src/objstore/filesystem-store.ts';
import { encodeWriteRequestV1, snappyCompress } from '../../src/push/remote-write-encode.ts';
import { openTsdb } from '../../src/tsdb/tsdb.ts';
import { startServerProcess } from '../cli/server-process.ts';

const WORKERS = 8;
const SERIES_PER_WORKER = 10;
const BATCHES_PER_WORKER = 40;
const KILL_AFTER_ACKED_BATCHES = 100;

test('SIGKILL during concurrent remote_write loses no acknowledged sample and stores none twice', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-rw-crash-'));
  try {
    const server = await startServerProcess(['--data-dir', dataDir]);
    const baseMs = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
    const acked = new Set<string>();
    let ackedBatches = 0;
    let killed = false;
    const worker = async (w: number) => {
      for (let b = 0; b < BATCHES_PER_WORKER && !killed; b++) {
        const series = Array.from({ length: SERIES_PER_WORKER }, (_, k) => ({
          labels: { __name__: 'crash_samples', worker: String(w), series: String(k) },
          samples: [{ timestampMs: baseMs + b * 15_000, value: w * 1000 + b + k / 100 }],
        }));
        try {
          const response = await fetch(`${server.url}/api/v1/write`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
            body: snappyCompress(encodeWriteRequestV1(series)),
          });
          if (response.status !== 204) throw new Error(`status ${response.status}: ${await response.text()}`);
          for (let k = 0; k < SERIES_PER_WORKER; k++) acked.add(`${w}/${k}/${b}`);
          if (++ackedBatches >= KILL_AFTER_ACKED_BATCHES && !killed) {
            killed = true;
            server.kill('SIGKILL');
          }
        } catch (error) {
          if (killed) return; // the connection died with the server: never acknowledged
          throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    assert.ok(killed, 'the server was killed while writes were running');
    await server.exited;

    const open = () => openTsdb({ walDirectory: join(dataDir, 'tsdb-wal'), objectStore: new FilesystemObjectStore(join(dataDir, 'objects')), maintenanceIntervalMs: 0, ownsObjectStore: true });
    const readBack = async (tsdb: Awaited<ReturnType<typeof open>>): Promise<Map<string, number>> => {
      const found = new Map<string, number>();
      for (const series of await tsdb.select('fake', { matchers: [{ name: '__name__', type: '=', value: 'crash_samples' }], startMs: baseMs - 1, endMs: baseMs + 3_600_000 })) {
        series.timestampsMs.forEach((t, i) => {
          const key = `${series.labels.worker}/${series.labels.series}/${(t - baseMs) / 15_000}`;
          found.set(key, (found.get(key) ?? 0) + 1);
          assert.equal(series.values[i], Number(series.labels.worker) * 1000 + (t - baseMs) / 15_000 + Number(series.labels.series) / 100);
        });
      }
      return found;
    };
    let tsdb = await open();
    const replayed = await readBack(tsdb);
    const missing = [...acked].filter((key) => !replayed.has(key));
    assert.deepEqual(missing, [], `${missing.length} of ${acked.size} acknowledged samples missing after replay`);
    assert.deepEqual([...replayed].filter(([, count]) => count > 1), []);
    await tsdb.close(); // flushes into blocks

    tsdb = await open();
    const afterFlush = await readBack(tsdb);
    assert.deepEqual(afterFlush, replayed);
    assert.equal(tsdb.stats().blockSamples, afterFlush.size, 'each sample stored once in the blocks');
    assert.equal(tsdb.stats().headSamples, 0);
    await tsdb.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
