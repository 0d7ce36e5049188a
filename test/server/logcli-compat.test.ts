// Replays logcli's requests (pkg/logcli/client: uppercase directions, step/interval as float seconds,
// `match` without brackets, detected_fields with field_limit/line_limit and a Go duration step, tail
// with limit+start) against a real server with auth on, as `logcli --org-id` talks to it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { getJson, nowNs, pushJson, startTestServer, type TestServer } from './test-server.ts';

const NS_PER_MS = 1_000_000n;
const ORG = { 'X-Scope-OrgID': 'cli-team', 'User-Agent': 'loki-logcli/3.5.0' };

/** Go's url.Values.Encode() as logcli's QueryStringBuilder produces it: sorted keys, `+` for spaces. */
function goQuery(pairs: Array<[string, string]>): string {
  return [...pairs]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value).replace(/%20/g, '+')}`)
    .join('&');
}

type Streams = Array<{ stream: Record<string, string>; values: Array<[string, string]> }>;

describe('logcli against rankscope', () => {
  let server: TestServer;
  const baseNs = nowNs() - 600_000n * NS_PER_MS;
  const startNs = baseNs - 60_000n * NS_PER_MS;
  const endNs = () => nowNs() + 1_000n * NS_PER_MS;

  before(async () => {
    server = await startTestServer({ auth_enabled: true });
    const values = (rank: number): Array<[string, string]> =>
      Array.from({ length: 25 }, (_, i) => [String(baseNs + BigInt(i * 2 + rank) * 1_000n * NS_PER_MS), `rank=${rank} step=${i} msg="training"`]);
    const response = await pushJson(
      server.url,
      [
        { stream: { job: 'cli', rank: '0' }, values: values(0) },
        { stream: { job: 'cli', rank: '1' }, values: values(1) },
      ],
      ORG,
    );
    assert.equal(response.status, 204);
  });
  after(async () => {
    await server.dispose();
  });

  test('logcli query --batch: BACKWARD pages with end = oldest + 1ns return every line once, newest first', async () => {
    const seen: string[] = [];
    let end = endNs();
    let lastKey: string | undefined;
    for (let page = 0; page < 10 && seen.length < 50; page++) {
      const query = goQuery([['query', '{job="cli"}'], ['limit', '20'], ['start', String(startNs)], ['end', String(end)], ['direction', 'BACKWARD']]);
      const { status, body, text } = await getJson(`${server.url}/loki/api/v1/query_range?${query}`, ORG);
      assert.equal(status, 200, text);
      const entries = (body as { data: { result: Streams } }).data.result
        .flatMap((stream) => stream.values.map(([ns, line]) => ({ ns: BigInt(ns), key: `${ns} ${line}` })))
        .sort((a, b) => (a.ns < b.ns ? 1 : a.ns > b.ns ? -1 : 0));
      if (entries.length === 0) break;
      // logcli drops the entry it already printed (the page overlaps by the boundary entry).
      for (const entry of entries) if (entry.key !== lastKey) seen.push(entry.key);
      const oldest = entries[entries.length - 1]!;
      lastKey = oldest.key;
      end = oldest.ns + 1n;
    }
    assert.equal(seen.length, 50);
    assert.equal(new Set(seen).size, 50);
    const times = seen.map((key) => BigInt(key.split(' ')[0]!));
    assert.ok(times.every((ns, i) => i === 0 || ns < times[i - 1]!), 'newest first');
  });

  test('logcli query --forward with interval and step as float seconds', async () => {
    const logs = await getJson(
      `${server.url}/loki/api/v1/query_range?${goQuery([['query', '{job="cli",rank="0"}'], ['limit', '5'], ['start', String(startNs)], ['end', String(endNs())], ['direction', 'FORWARD'], ['interval', '4']])}`,
      ORG,
    );
    const values = (logs.body as { data: { result: Streams } }).data.result[0]!.values;
    assert.deepEqual(values.map(([, line]) => line), ['rank=0 step=0 msg="training"', 'rank=0 step=2 msg="training"', 'rank=0 step=4 msg="training"', 'rank=0 step=6 msg="training"', 'rank=0 step=8 msg="training"']);
    const metric = await getJson(
      `${server.url}/loki/api/v1/query_range?${goQuery([['query', 'sum(count_over_time({job="cli"}[10m]))'], ['limit', '30'], ['start', String(endNs() - 60_000n * NS_PER_MS)], ['end', String(endNs())], ['direction', 'BACKWARD'], ['step', '30.5']])}`,
      ORG,
    );
    assert.equal(metric.status, 200, metric.text);
    const series = (metric.body as { data: { resultType: string; result: Array<{ values: Array<[number, string]> }> } }).data;
    assert.equal(series.resultType, 'matrix');
    assert.ok(series.result[0]!.values.length >= 2);
  });

  test('logcli instant-query: time in ns, direction BACKWARD', async () => {
    const query = goQuery([['query', 'sum by (rank) (count_over_time({job="cli"}[1h]))'], ['limit', '30'], ['time', String(nowNs())], ['direction', 'BACKWARD']]);
    const { body } = await getJson(`${server.url}/loki/api/v1/query?${query}`, ORG);
    const result = (body as { data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data;
    assert.equal(result.resultType, 'vector');
    assert.deepEqual(result.result.map((sample) => [sample.metric.rank, sample.value[1]]), [['0', '25'], ['1', '25']]);
  });

  test('logcli labels, labels <name>, series --match (no brackets), stats, volume, volume_range, detected-fields', async () => {
    const range: Array<[string, string]> = [['start', String(startNs)], ['end', String(endNs())]];
    const names = await getJson(`${server.url}/loki/api/v1/labels?${goQuery(range)}`, ORG);
    assert.deepEqual((names.body as { data: string[] }).data, ['job', 'rank']);
    const values = await getJson(`${server.url}/loki/api/v1/label/rank/values?${goQuery(range)}`, ORG);
    assert.deepEqual((values.body as { data: string[] }).data, ['0', '1']);
    const series = await getJson(`${server.url}/loki/api/v1/series?${goQuery([...range, ['match', '{rank="0"}'], ['match', '{rank="1"}']])}`, ORG);
    assert.equal((series.body as { data: unknown[] }).data.length, 2);
    const stats = await getJson(`${server.url}/loki/api/v1/index/stats?${goQuery([...range, ['query', '{job="cli"}']])}`, ORG);
    assert.deepEqual({ ...(stats.body as Record<string, number>), bytes: 0, chunks: 0 }, { streams: 2, chunks: 0, bytes: 0, entries: 50 });
    const volume = await getJson(`${server.url}/loki/api/v1/index/volume?${goQuery([...range, ['query', '{job="cli"}'], ['limit', '100'], ['targetLabels', 'rank']])}`, ORG);
    assert.deepEqual((volume.body as { data: { result: Array<{ metric: object }> } }).data.result.map((item) => item.metric).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [{ rank: '0' }, { rank: '1' }]);
    const volumeRange = await getJson(`${server.url}/loki/api/v1/index/volume_range?${goQuery([...range, ['query', '{job="cli"}'], ['limit', '100'], ['step', '60']])}`, ORG);
    assert.equal((volumeRange.body as { data: { resultType: string } }).data.resultType, 'matrix');
    const fields = await getJson(
      `${server.url}/loki/api/v1/detected_fields?${goQuery([...range, ['query', '{job="cli"}'], ['field_limit', '2'], ['line_limit', '1000'], ['step', '1m0s']])}`,
      ORG,
    );
    assert.equal(fields.status, 200, fields.text);
    const answer = fields.body as { fields: Array<{ label: string; cardinality: number; type: string }>; limit: number };
    assert.equal(answer.limit, 2);
    assert.equal(answer.fields.length, 2, 'field_limit caps the fields');
    assert.deepEqual(
      answer.fields.map((field) => [field.label, field.type, field.cardinality]),
      [
        ['rank_extracted', 'int', 2],
        ['step', 'int', 25],
      ],
      'the first two fields of the lines (rank collides with the stream label, so it is rank_extracted, as the logfmt stage names it); msg is past the limit',
    );
  });

  test('logcli query --tail: limit and start in ns, tenant header; history then live lines', async () => {
    const query = goQuery([['query', '{job="cli",rank="1"}'], ['limit', '3'], ['start', String(startNs)]]);
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/loki/api/v1/tail?${query}`, { headers: ORG });
    const lines: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`tail got ${JSON.stringify(lines)} within 3 s`)), 3000);
        socket.on('message', (data) => {
          const frame = JSON.parse(data.toString()) as { streams?: Streams };
          for (const stream of frame.streams ?? []) for (const [, line] of stream.values) lines.push(line);
          if (lines.length === 3) void pushJson(server.url, [{ stream: { job: 'cli', rank: '1' }, values: [[String(nowNs()), 'live line']] }], ORG);
          if (lines.length >= 4) {
            clearTimeout(timer);
            resolve();
          }
        });
        socket.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
    } finally {
      socket.close();
    }
    assert.deepEqual(lines, ['rank=1 step=22 msg="training"', 'rank=1 step=23 msg="training"', 'rank=1 step=24 msg="training"', 'live line']);
  });
});
