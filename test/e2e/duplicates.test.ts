// Loki's duplicate rule, end to end: an entry equal in tenant, stream, timestamp and line to one
// already stored is dropped, whether the copy arrives while the first is in the head, after it was
// cut into a part, across a kill -9 and WAL replay, or lands in another part. Log queries return one
// copy and count_over_time counts one from the moment the retry is acknowledged. Entries with the
// same timestamp and a different line are kept.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePushRequest } from '../../src/push/protobuf.ts';
import { startServerProcess, type ServerProcess } from '../cli/server-process.ts';

const BASE_NS = BigInt(Date.now() - 600_000) * 1_000_000n;

interface Batch {
  labels: Record<string, string>;
  entries: Array<[bigint, string]>;
}

/** Two streams; the second batch of each reuses a timestamp with another line (kept, not a duplicate). */
function batchOf(name: string, from: number): Batch {
  const entries: Array<[bigint, string]> = [];
  for (let i = 0; i < 5; i++) entries.push([BASE_NS + BigInt((from + i) * 1000), `${name} line ${from + i}`]);
  entries.push([BASE_NS + BigInt(from * 1000), `${name} other line at ${from}`]);
  return { labels: { job: 'dup', batch: name }, entries };
}

async function pushJson(url: string, batch: Batch): Promise<void> {
  const response = await fetch(`${url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: batch.labels, values: batch.entries.map(([ts, line]) => [String(ts), line]) }] }),
  });
  assert.equal(response.status, 204, await response.text());
}

async function pushProtobuf(url: string, batch: Batch): Promise<void> {
  const body = encodePushRequest([{ labels: batch.labels, entries: batch.entries.map(([timestampNs, line]) => ({ timestampNs, line })) }]);
  const response = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
  assert.equal(response.status, 204, await response.text());
}

async function flush(url: string): Promise<void> {
  const response = await fetch(`${url}/flush`, { method: 'POST' });
  assert.equal(response.status, 204, await response.text());
}

async function logLines(url: string): Promise<string[]> {
  const params = new URLSearchParams({ query: '{job="dup"}', start: String(BASE_NS - 1_000_000_000n), end: String(BASE_NS + 60_000_000_000n), limit: '5000', direction: 'forward' });
  const response = await fetch(`${url}/loki/api/v1/query_range?${params}`);
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as { data: { result: Array<{ values: Array<[string, string]> }> } };
  return body.data.result.flatMap((stream) => stream.values.map(([, line]) => line)).sort();
}

async function countOverTime(url: string): Promise<number> {
  const params = new URLSearchParams({ query: 'sum(count_over_time({job="dup"}[1h]))', time: String(BASE_NS + 60_000_000_000n) });
  const response = await fetch(`${url}/loki/api/v1/query?${params}`);
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
  return body.data.result.length === 0 ? 0 : Number(body.data.result[0]!.value[1]);
}

function expectedLines(batches: Batch[]): string[] {
  return batches.flatMap((batch) => batch.entries.map(([, line]) => line)).sort();
}

async function assertOneCopy(server: ServerProcess, batches: Batch[], when: string): Promise<void> {
  const expected = expectedLines(batches);
  assert.deepEqual(await logLines(server.url), expected, `log query ${when}`);
  assert.equal(await countOverTime(server.url), expected.length, `count_over_time ${when}`);
}

async function duplicatesMetric(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^rankscope_duplicate_entries_discarded_total\{tenant="fake"\} (\d+)$/m.exec(text);
  return match === null ? 0 : Number(match[1]);
}

test('a push sent twice is stored once: in the head, across a cut, across kill -9 and WAL replay, across parts', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-duplicates-'));
  const json = batchOf('json', 0);
  const protobuf = batchOf('protobuf', 100);
  const replayed = batchOf('replayed', 200);
  let server = await startServerProcess(['--data-dir', dataDir]);
  try {
    // Both copies arrive while the first is still in the head.
    await pushJson(server.url, json);
    await pushJson(server.url, json);
    await pushProtobuf(server.url, protobuf);
    await pushProtobuf(server.url, protobuf);
    await assertOneCopy(server, [json, protobuf], 'with both copies pushed into the head');
    assert.equal(await duplicatesMetric(server.url), 12, 'the metric counts the dropped copies');

    // The first copies are cut into a part; the retries land in the new head.
    await flush(server.url);
    await pushProtobuf(server.url, json);
    await pushJson(server.url, protobuf);
    await assertOneCopy(server, [json, protobuf], 'with one copy in a part and one in the head');

    // Two copies only in the WAL, then kill -9: replay must keep one.
    await pushJson(server.url, replayed);
    await pushProtobuf(server.url, replayed);
    server.kill('SIGKILL');
    await server.exited;
    server = await startServerProcess(['--data-dir', dataDir]);
    await assertOneCopy(server, [json, protobuf, replayed], 'after WAL replay');

    // The replayed retries are cut into a second part beside the first copies.
    await flush(server.url);
    await assertOneCopy(server, [json, protobuf, replayed], 'with the copies in two parts');
    server.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    server = await startServerProcess(['--data-dir', dataDir]);
    await assertOneCopy(server, [json, protobuf, replayed], 'after a clean restart');
  } finally {
    server.kill('SIGKILL');
    await server.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});
