// Metrics in cluster mode, three replicas in one process over one real nats-server and a shared
// object store directory: remote_write to any replica, PromQL on any other (read barrier: no
// polling), the query split by time (older samples from blocks in the object store, recent ones from
// the owners, counted once), POST /flush committing every partition, series, labels and metadata.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningServer } from '../../src/server/server.ts';
import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../../src/push/remote-write-encode.ts';
import type { RemoteWriteMetadata } from '../../src/push/remote-write-decode.ts';
import { pollUntil } from '../support/peers.ts';
import { startNats, type NatsCluster } from './nats-fixture.ts';
import { startReplicas } from './replicas-fixture.ts';

const PARTITIONS = 4;

async function remoteWrite(url: string, series: RemoteWriteSeriesInput[], metadata: RemoteWriteMetadata[] = []): Promise<void> {
  const response = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    body: snappyCompress(encodeWriteRequestV1(series, metadata)),
  });
  assert.equal(response.status, 204, await response.text());
}

/** protobuf bytes of a remote write 1.0 TimeSeries holding only exemplars (remote-write-encode.ts writes samples only). */
function exemplarSeries(labels: Record<string, string>, exemplars: Array<{ traceId: string; value: number; timestampMs: number }>): Buffer {
  const field = (key: number, body: Buffer): Buffer => Buffer.concat([varint(key), varint(body.length), body]);
  const label = (name: string, value: string): Buffer => field(0x0a, Buffer.concat([field(0x0a, Buffer.from(name)), field(0x12, Buffer.from(value))]));
  const exemplar = ({ traceId, value, timestampMs }: { traceId: string; value: number; timestampMs: number }): Buffer => {
    const double = Buffer.alloc(8);
    double.writeDoubleLE(value);
    return field(0x1a, Buffer.concat([label('trace_id', traceId), Buffer.from([0x11]), double, Buffer.from([0x18]), varint(timestampMs)]));
  };
  return field(0x0a, Buffer.concat([...Object.entries(labels).map(([name, value]) => label(name, value)), ...exemplars.map(exemplar)]));
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  for (; value >= 0x80; value = Math.floor(value / 128)) bytes.push((value % 128) | 0x80);
  bytes.push(value);
  return Buffer.from(bytes);
}

async function promql<T>(url: string, query: string, timeMs: number): Promise<T> {
  const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query, time: String(timeMs / 1000) })}`);
  const body = (await response.json()) as { status: string; data: { result: T } };
  assert.equal(body.status, 'success', JSON.stringify(body));
  return body.data.result;
}

type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

/** `{series label → value}` of an instant vector. */
function byLabel(vector: Vector, label: string): Record<string, number> {
  return Object.fromEntries(vector.map((sample) => [sample.metric[label] ?? '', Number(sample.value[1])]));
}

async function headSamples(replicas: RunningServer[]): Promise<number> {
  let total = 0;
  for (const replica of replicas) {
    const text = await (await fetch(`${replica.url}/metrics`)).text();
    total += Number(/^rankscope_tsdb_head_samples (\S+)$/m.exec(text)?.[1] ?? 'NaN');
  }
  return total;
}

describe('cluster mode metrics, three replicas in one process', () => {
  let dir: string;
  let nats: NatsCluster;
  const replicas: RunningServer[] = [];
  let target: Server;
  let targetScrapes = 0;
  const baseMs = Math.floor(Date.now() / 1000) * 1000 - 600_000;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rankscope-cluster-metrics-'));
    nats = await startNats(join(dir, 'nats'), 1);
    target = createServer((_request, response) => {
      targetScrapes++;
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('# TYPE scraped_value gauge\nscraped_value 1\n');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const scrapeConfigs = [{ job_name: 'once', scrape_interval: '200ms', static_configs: [{ targets: [`127.0.0.1:${(target.address() as AddressInfo).port}`] }] }];
    replicas.push(...(await startReplicas(dir, nats, 3, PARTITIONS, { scrape_configs: scrapeConfigs })));
  });

  after(async () => {
    for (const replica of replicas) await replica.close().catch(() => undefined);
    await nats?.stop();
    target?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a sample remote-written to one replica is in the very next PromQL query on another', async () => {
    for (let i = 0; i < 12; i++) {
      await remoteWrite(replicas[i % 3]!.url, [{ labels: { __name__: 'ryw_value', job: 'ryw', step: String(i) }, samples: [{ timestampMs: baseMs + i * 1000, value: i * 10 }] }]);
      const vector = await promql<Vector>(replicas[(i + 1) % 3]!.url, `ryw_value{step="${i}"}`, baseMs + i * 1000 + 1000);
      assert.deepEqual(vector.map((sample) => Number(sample.value[1])), [i * 10], `step ${i} written to replica ${i % 3}, read on replica ${(i + 1) % 3}`);
    }
  });

  test('older samples come from blocks in the object store, recent ones from the owners, each counted once', async () => {
    // 16 series spread over the partitions by hash; 10 samples each, 15 s apart.
    const series = (fromStep: number, toStep: number): RemoteWriteSeriesInput[] =>
      Array.from({ length: 16 }, (_, s) => ({
        labels: { __name__: 'split_total', job: 'split', series: String(s) },
        samples: Array.from({ length: toStep - fromStep }, (_, k) => ({ timestampMs: baseMs + (fromStep + k) * 15_000, value: fromStep + k })),
      }));
    await remoteWrite(replicas[0]!.url, series(0, 10));
    const atMs = baseMs + 20 * 15_000;
    const counts = async (url: string): Promise<Record<string, number>> => byLabel(await promql<Vector>(url, 'count_over_time(split_total[10m])', atMs), 'series');
    const expected = (count: number): Record<string, number> => Object.fromEntries(Array.from({ length: 16 }, (_, s) => [String(s), count]));
    assert.deepEqual(await counts(replicas[1]!.url), expected(10), 'all in the owners\' heads');

    const flushed = await fetch(`${replicas[2]!.url}/flush`, { method: 'POST' });
    assert.equal(flushed.status, 204, await flushed.text());
    // Only the scrape test's target (a few samples a second) adds to the heads meanwhile.
    const left = await headSamples(replicas);
    assert.ok(left < 160, `POST /flush on one replica cut every owner's head: ${left} samples left of the 160 written`);
    for (let p = 0; p < PARTITIONS; p++) {
      const manifest = JSON.parse(readFileSync(join(dir, 'shared', 'cluster', 'partitions', String(p), 'manifest.json'), 'utf8')) as { committedSeq: number };
      assert.ok(manifest.committedSeq > 0, `partition ${p} committed`);
    }
    const blockDirs = Array.from({ length: PARTITIONS }, (_, p) => join(dir, 'shared', 'cluster', 'partitions', String(p), 'tsdb')).filter((path) => existsSync(path));
    assert.ok(blockDirs.length > 0 && blockDirs.some((path) => readdirSync(path).length > 0), 'TSDB blocks under cluster/partitions/<n>/tsdb/');
    for (const replica of replicas) assert.deepEqual(await counts(replica.url), expected(10), 'all from blocks, once');

    // Five more samples each: the query now joins blocks (steps 0-9) and heads (10-14).
    await remoteWrite(replicas[1]!.url, series(10, 15));
    for (const replica of replicas) assert.deepEqual(await counts(replica.url), expected(15), 'blocks and heads, once');
    const sums = byLabel(await promql<Vector>(replicas[2]!.url, 'sum_over_time(split_total[10m])', atMs), 'series');
    assert.deepEqual(sums, Object.fromEntries(Array.from({ length: 16 }, (_, s) => [String(s), 105])), 'values 0..14 summed once');
    const rate = await promql<Vector>(replicas[0]!.url, 'sum(rate(split_total[10m]))', atMs);
    assert.ok(Number(rate[0]!.value[1]) > 0, 'a rate across the block/head boundary');
  });

  test('series, label values and metadata from any replica', async () => {
    const metadata: RemoteWriteMetadata[] = [{ family: 'meta_requests_total', type: 'counter', help: 'Requests served.', unit: '' }];
    await remoteWrite(replicas[2]!.url, [0, 1, 2].map((g) => ({ labels: { __name__: 'meta_requests_total', job: 'meta', gpu: String(g) }, samples: [{ timestampMs: baseMs, value: g }] })), metadata);
    const values = (await (await fetch(`${replicas[0]!.url}/api/v1/label/gpu/values?${new URLSearchParams({ start: String(baseMs / 1000 - 60), end: String(baseMs / 1000 + 60) })}`)).json()) as { data: string[] };
    assert.deepEqual(values.data, ['0', '1', '2']);
    const series = (await (await fetch(`${replicas[1]!.url}/api/v1/series?${new URLSearchParams({ 'match[]': 'meta_requests_total', start: String(baseMs / 1000 - 60), end: String(baseMs / 1000 + 60) })}`)).json()) as { data: Array<Record<string, string>> };
    assert.equal(series.data.length, 3);
    await pollUntil('metadata on another replica', async () => {
      const body = (await (await fetch(`${replicas[0]!.url}/api/v1/metadata`)).json()) as { data: Record<string, Array<{ type: string; help: string }>> };
      return body.data.meta_requests_total?.[0]?.type === 'counter' ? true : undefined;
    }, { timeoutMs: 5000, intervalMs: 20 });
  });

  test('exemplars remote-written to any replica are answered by query_exemplars on every replica', async () => {
    // 8 series spread over the partitions, 3 exemplars each, pushed to replica A; asked on every replica (read barrier: no polling).
    const body = Buffer.concat(
      Array.from({ length: 8 }, (_, s) => exemplarSeries({ __name__: 'traced_seconds', job: 'traced', series: String(s) }, [0, 1, 2].map((k) => ({ traceId: `t${s}-${k}`, value: s + k / 4, timestampMs: baseMs + k * 1000 })))),
    );
    const response = await fetch(`${replicas[0]!.url}/api/v1/write`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' }, body: snappyCompress(body) });
    assert.equal(response.status, 204, await response.text());
    type Answer = { status: string; data: Array<{ seriesLabels: Record<string, string>; exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }> }> };
    for (const replica of replicas) {
      const query = new URLSearchParams({ query: 'sum(rate(traced_seconds{job="traced"}[5m]))', start: String(baseMs / 1000 - 60), end: String(baseMs / 1000 + 1.5) });
      const answer = (await (await fetch(`${replica.url}/api/v1/query_exemplars?${query}`)).json()) as Answer;
      assert.equal(answer.status, 'success', JSON.stringify(answer));
      const found = Object.fromEntries(answer.data.map((entry) => [entry.seriesLabels.series, entry.exemplars.map((exemplar) => [exemplar.labels.trace_id, exemplar.value, exemplar.timestamp])]));
      const expected = Object.fromEntries(Array.from({ length: 8 }, (_, s) => [String(s), [0, 1].map((k) => [`t${s}-${k}`, String(s + k / 4), baseMs / 1000 + k])]));
      assert.deepEqual(found, expected, `${replica.url}: every series' exemplars in [start, end], from every partition's owner`);
    }
    // Exemplars are kept by the owners' TSDBs in memory: a cluster-wide flush keeps them.
    assert.equal((await fetch(`${replicas[1]!.url}/flush`, { method: 'POST' })).status, 204);
    const after = (await (await fetch(`${replicas[2]!.url}/api/v1/query_exemplars?${new URLSearchParams({ query: 'traced_seconds', start: String(baseMs / 1000 - 60), end: String(baseMs / 1000 + 60) })}`)).json()) as Answer;
    assert.equal(after.data.reduce((sum, entry) => sum + entry.exemplars.length, 0), 24);
  });

  test('invalid series are refused with 400 before anything is published', async () => {
    const response = await fetch(`${replicas[0]!.url}/api/v1/write`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
      body: snappyCompress(encodeWriteRequestV1([{ labels: { __name__: 'bad-name', job: 'x' }, samples: [{ timestampMs: baseMs, value: 1 }] }])),
    });
    assert.equal(response.status, 400);
    assert.match(await response.text(), /invalid labels.*bad-name/);
  });

  test('every replica scrapes, one writes: a target is stored once per interval, not once per replica', async () => {
    const stored = async (): Promise<number> => {
      const vector = await promql<Vector>(replicas[1]!.url, 'count_over_time(scraped_value{job="once"}[1h])', Date.now());
      return Number(vector[0]?.value[1] ?? 0);
    };
    await pollUntil('scrapes stored', async () => ((await stored()) >= 10 ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });
    const count = await stored();
    const seen = targetScrapes;
    assert.ok(seen >= 2.5 * count, `the target was scraped ${seen} times (three replicas), ${count} samples stored`);
  });
});
