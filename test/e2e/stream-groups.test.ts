// Stream groups end to end (store.stream_groups, src/store/stream-group.ts): the same 8-rank
// training log pushed to a server with the default groups (the reference layout), one with shared
// frames and one with groups off answers every query the same, through the scan workers (more than
// 16 MB of lines is scanned in parallel), and both with groups store less.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePushRequest } from '../../src/push/protobuf.ts';
import { generateTrainingLog, syntheticLabels } from '../../bench/synthetic-log.ts';
import { startServerProcess, type ServerProcess } from '../cli/server-process.ts';

const LOG_BYTES = 24_000_000;
const PUSH_BYTES = 1_000_000;

/** Bytes of every file under `dir`. */
function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

async function query(url: string, path: string, params: Record<string, string>): Promise<unknown> {
  const response = await fetch(`${url}${path}?${new URLSearchParams(params)}`);
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as { data: { result: Array<{ metric?: Record<string, string>; stream?: Record<string, string> }> } };
  // Series in a stable order; the values as they are.
  const key = (series: { metric?: Record<string, string>; stream?: Record<string, string> }): string => JSON.stringify(series.metric ?? series.stream);
  return body.data.result.sort((a, b) => key(a).localeCompare(key(b)));
}

test('servers with stream groups (reference and shared layouts) answer like one without, through the scan workers, and store less', { timeout: 180_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'rankscope-stream-groups-'));
  const sharedConfig = join(root, 'shared.yaml');
  writeFileSync(sharedConfig, 'store:\n  stream_groups:\n    layout: shared\n');
  const offConfig = join(root, 'off.yaml');
  writeFileSync(offConfig, 'store:\n  stream_groups:\n    enabled: false\n');
  const servers: ServerProcess[] = [];
  try {
    // The default configuration: groups on, reference layout.
    const grouped = await startServerProcess(['--data-dir', join(root, 'grouped')]);
    servers.push(grouped);
    const shared = await startServerProcess(['--data-dir', join(root, 'shared'), '--config', sharedConfig]);
    servers.push(shared);
    const apart = await startServerProcess(['--data-dir', join(root, 'apart'), '--config', offConfig]);
    servers.push(apart);
    // The log as an agent would push it: one stream per rank and launcher, about 1 MB a push.
    let batch = new Map<string, { labels: Record<string, string>; entries: Array<{ timestampNs: bigint; line: string }> }>();
    let batchBytes = 0;
    let total = 0;
    let firstNs: bigint | undefined;
    let lastNs = 0n;
    const countsByRank = new Map<string, number>();
    const push = async (): Promise<void> => {
      const body = encodePushRequest([...batch.values()]);
      for (const server of servers) {
        const response = await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
        assert.equal(response.status, 204, await response.text());
      }
      batch = new Map();
      batchBytes = 0;
    };
    // About an hour of run, ending an hour ago: inside the server's accepted sample age.
    for (const entry of generateTrainingLog({ seed: 5, startTimeNs: BigInt(Date.now() - 2 * 3_600_000) * 1_000_000n })) {
      const labels = syntheticLabels(entry);
      const key = JSON.stringify(labels);
      let stream = batch.get(key);
      if (stream === undefined) batch.set(key, (stream = { labels, entries: [] }));
      stream.entries.push({ timestampNs: entry.timestampNs, line: entry.line });
      firstNs ??= entry.timestampNs;
      lastNs = entry.timestampNs;
      if (entry.rank !== null && entry.line.includes('loss')) countsByRank.set(String(entry.rank), (countsByRank.get(String(entry.rank)) ?? 0) + 1);
      batchBytes += entry.line.length;
      total += entry.line.length;
      if (batchBytes >= PUSH_BYTES) await push();
      if (total >= LOG_BYTES) break;
    }
    if (batchBytes > 0) await push();
    for (const server of servers) assert.equal((await fetch(`${server.url}/flush`, { method: 'POST' })).status, 204);

    const start = String(firstNs! - 1_000_000_000n);
    const end = String(lastNs + 1_000_000_000n);
    const rangeSeconds = `${Math.ceil(Number(lastNs - firstNs!) / 1e9) + 10}s`;
    const queries: Array<[path: string, params: Record<string, string>]> = [
      ['/loki/api/v1/query', { query: `sum by (rank) (count_over_time({job="train"} |= "loss" [${rangeSeconds}]))`, time: end }],
      ['/loki/api/v1/query', { query: `sum by (rank) (avg_over_time({job="train"} |= "train.py" | regexp "loss (?P<loss>[0-9.]+)" | unwrap loss [${rangeSeconds}]))`, time: end }],
      ['/loki/api/v1/query_range', { query: 'sum by (rank) (count_over_time({job="train"} |~ "(?i)nccl|error" [5m]))', start, end, step: '300' }],
      ['/loki/api/v1/query_range', { query: '{job="train", rank="3"}', start, end, limit: '100', direction: 'backward' }],
      ['/loki/api/v1/query_range', { query: '{job="train"} |= "step 100/"', start, end, limit: '5000', direction: 'forward' }],
    ];
    for (const [path, params] of queries) {
      const expected = await query(apart.url, path, params);
      assert.deepEqual(await query(grouped.url, path, params), expected, `${params.query}`);
      assert.deepEqual(await query(shared.url, path, params), expected, `${params.query} (shared)`);
    }
    // And against the log itself: the lines each rank printed with "loss".
    const counts = (await query(grouped.url, queries[0]![0], queries[0]![1])) as Array<{ metric: { rank: string }; value: [number, string] }>;
    assert.deepEqual(new Map(counts.map((series) => [series.metric.rank, Number(series.value[1])])), countsByRank);
    // One rank's last lines read its own frames' members only: 100 lines, all of rank 3.
    const rank3 = (await query(grouped.url, queries[3]![0], queries[3]![1])) as Array<{ stream: Record<string, string>; values: unknown[] }>;
    assert.equal(rank3.length, 1);
    assert.equal(rank3[0]!.stream.rank, '3');
    assert.equal(rank3[0]!.values.length, 100);

    for (const server of servers) {
      server.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    }
    const groupedBytes = bytesUnder(join(root, 'grouped', 'objects'));
    const sharedBytes = bytesUnder(join(root, 'shared', 'objects'));
    const apartBytes = bytesUnder(join(root, 'apart', 'objects'));
    assert.ok(groupedBytes < apartBytes * 0.85, `stored ${groupedBytes} bytes with reference groups, ${apartBytes} without`);
    assert.ok(sharedBytes < apartBytes * 0.85, `stored ${sharedBytes} bytes with shared groups, ${apartBytes} without`);
  } finally {
    for (const server of servers) {
      server.kill('SIGKILL');
      await server.exited;
    }
    rmSync(root, { recursive: true, force: true });
  }
});
