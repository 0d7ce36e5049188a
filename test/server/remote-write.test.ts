// The remote_write receiver and the Prometheus read API against a real server, with requests encoded
// from the specs by the test (1.0 and 2.0).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeWriteRequestV1, encodeWriteRequestV2, snappyCompress, type RemoteWriteSeriesInput } from '../../src/push/remote-write-encode.ts';
import { startTestServer, type TestServer } from './test-server.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.dispose();
});

const V2 = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';
const NOW = Math.floor(Date.now() / 1000) * 1000;

async function write(body: Buffer, headers: Record<string, string>, path = '/api/v1/write'): Promise<Response> {
  return fetch(server.url + path, {
    method: 'POST',
    headers: { 'Content-Encoding': 'snappy', 'User-Agent': 'rankscope-test', 'X-Prometheus-Remote-Write-Version': '0.1.0', ...headers },
    body: snappyCompress(body),
  });
}

async function api(path: string, init?: RequestInit): Promise<{ status: number; body: { status: string; data?: unknown; errorType?: string; error?: string; warnings?: string[] } }> {
  const response = await fetch(server.url + path, init);
  return { status: response.status, body: (await response.json()) as never };
}

test('1.0: a WriteRequest is stored and listed by series, labels and label values; metadata is kept', async () => {
  const series: RemoteWriteSeriesInput[] = [
    { labels: { __name__: 'DCGM_FI_DEV_GPU_UTIL', gpu: '0', Hostname: 'node1' }, samples: [{ timestampMs: NOW - 30_000, value: 80 }, { timestampMs: NOW - 15_000, value: 85 }] },
    { labels: { __name__: 'DCGM_FI_DEV_GPU_UTIL', gpu: '1', Hostname: 'node1' }, samples: [{ timestampMs: NOW - 15_000, value: 90 }] },
    { labels: { __name__: 'node_load1', instance: 'node1:9100' }, samples: [{ timestampMs: NOW - 15_000, value: 1.5 }] },
  ];
  const response = await write(encodeWriteRequestV1(series, [{ family: 'node_load1', type: 'gauge', help: '1m load average.', unit: '' }]), { 'Content-Type': 'application/x-protobuf' });
  assert.equal(response.status, 204, await response.text());

  const found = await api(`/api/v1/series?match[]=DCGM_FI_DEV_GPU_UTIL&start=${(NOW - 60_000) / 1000}&end=${NOW / 1000}`);
  assert.equal(found.status, 200);
  assert.deepEqual(
    (found.body.data as Array<Record<string, string>>).sort((a, b) => (a.gpu! < b.gpu! ? -1 : 1)),
    [{ __name__: 'DCGM_FI_DEV_GPU_UTIL', gpu: '0', Hostname: 'node1' }, { __name__: 'DCGM_FI_DEV_GPU_UTIL', gpu: '1', Hostname: 'node1' }],
  );
  const post = await api('/prometheus/api/v1/series', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'match[]=node_load1&match[]={gpu="1"}' });
  assert.equal((post.body.data as unknown[]).length, 2);
  assert.deepEqual((await api('/api/v1/labels')).body.data, ['Hostname', '__name__', 'gpu', 'instance']);
  assert.deepEqual((await api('/api/v1/label/__name__/values?limit=40000')).body.data, ['DCGM_FI_DEV_GPU_UTIL', 'node_load1']);
  const limited = await api('/api/v1/label/__name__/values?limit=1');
  assert.deepEqual(limited.body.data, ['DCGM_FI_DEV_GPU_UTIL']);
  assert.deepEqual(limited.body.warnings, ['results truncated due to limit']);
  assert.deepEqual((await api('/api/v1/label/gpu/values?match[]={Hostname="node1"}')).body.data, ['0', '1']);
  assert.deepEqual((await api('/api/v1/metadata')).body.data, { node_load1: [{ type: 'gauge', help: '1m load average.', unit: '' }] });
  const buildinfo = await api('/api/v1/status/buildinfo');
  assert.equal(buildinfo.body.status, 'success');
  assert.ok(!('features' in (buildinfo.body.data as object)), 'no features: Grafana must not take us for Mimir');
});

test('2.0: symbols-table requests are stored and answered with the *-Written headers', async () => {
  const body = encodeWriteRequestV2([
    { labels: { __name__: 'train_loss', rank: '0', job: 'train' }, samples: [{ timestampMs: NOW - 10_000, value: 2.5 }, { timestampMs: NOW - 5_000, value: 2.4 }], metadata: { type: 'gauge', help: 'Loss.', unit: '' } },
    { labels: { __name__: 'train_loss', rank: '1', job: 'train' }, samples: [{ timestampMs: NOW - 5_000, value: 2.6 }] },
  ]);
  const response = await write(body, { 'Content-Type': V2, 'X-Prometheus-Remote-Write-Version': '2.0.0' }, '/prometheus/api/v1/write');
  assert.equal(response.status, 204, await response.text());
  assert.equal(response.headers.get('x-prometheus-remote-write-samples-written'), '3');
  assert.equal(response.headers.get('x-prometheus-remote-write-histograms-written'), '0');
  assert.equal(response.headers.get('x-prometheus-remote-write-exemplars-written'), '0');
  assert.deepEqual((await api('/api/v1/label/rank/values?match[]=train_loss')).body.data, ['0', '1']);
  assert.deepEqual((await api('/api/v1/metadata?metric=train_loss')).body.data, { train_loss: [{ type: 'gauge', help: 'Loss.', unit: '' }] });
});

test('invalid samples: 400 naming the series, valid ones of the request kept; duplicates with the same value accepted', async () => {
  const labels = { __name__: 'dup_test', job: 'x' };
  assert.equal((await write(encodeWriteRequestV1([{ labels, samples: [{ timestampMs: NOW, value: 1 }] }]), { 'Content-Type': 'application/x-protobuf' })).status, 204);
  assert.equal((await write(encodeWriteRequestV1([{ labels, samples: [{ timestampMs: NOW, value: 1 }] }]), { 'Content-Type': 'application/x-protobuf' })).status, 204, 'same value again: ignored');
  const response = await write(
    encodeWriteRequestV2([
      { labels, samples: [{ timestampMs: NOW, value: 2 }] },
      { labels: { __name__: 'dup_test', job: 'y' }, samples: [{ timestampMs: NOW, value: 3 }] },
    ]),
    { 'Content-Type': V2 },
  );
  assert.equal(response.status, 400);
  assert.match(await response.text(), /duplicate sample for timestamp .* for series \{__name__="dup_test", job="x"\} at timestamp/);
  assert.equal(response.headers.get('x-prometheus-remote-write-samples-written'), '1');
  assert.deepEqual((await api('/api/v1/label/job/values?match[]=dup_test')).body.data, ['x', 'y']);
});

const unsupported: Array<[string, Record<string, string>, number, RegExp]> = [
  ['unknown proto', { 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v3.Request' }, 415, /unsupported Content-Type/],
  ['JSON', { 'Content-Type': 'application/json' }, 415, /unsupported Content-Type/],
  ['gzip encoding', { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' }, 415, /unsupported Content-Encoding "gzip"/],
];
for (const [name, headers, status, message] of unsupported) {
  test(`415 for an unsupported request: ${name}`, async () => {
    const response = await write(encodeWriteRequestV1([{ labels: { __name__: 'x' }, samples: [{ timestampMs: NOW, value: 1 }] }]), headers);
    assert.equal(response.status, status);
    assert.match(await response.text(), message);
  });
}

test('a body that is not snappy or not protobuf is a 400 with the byte offset', async () => {
  const response = await fetch(server.url + '/api/v1/write', { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' }, body: snappyCompress(Buffer.from([0x0a, 0x50, 0x01])) });
  assert.equal(response.status, 400);
  assert.match(await response.text(), /malformed protobuf prometheus.WriteRequest: length 80 runs past the end of its message at byte 2/);
});

const apiErrors: Array<[string, string, number, string]> = [
  ['series without match[]', '/api/v1/series', 400, 'bad_data'],
  ['bad selector', '/api/v1/series?match[]={a=', 400, 'bad_data'],
  ['bad time', '/api/v1/labels?start=yesterday', 400, 'bad_data'],
  ['query that does not parse', '/api/v1/query?query=up{', 400, 'bad_data'],
  ['query_range with a zero step', '/api/v1/query_range?query=up&start=1&end=2&step=0', 400, 'bad_data'],
  ['format_query that does not parse', '/api/v1/format_query?query=sum(', 400, 'bad_data'],
];
for (const [name, path, status, errorType] of apiErrors) {
  test(`Prometheus API error: ${name}`, async () => {
    const { status: got, body } = await api(path);
    assert.equal(got, status);
    assert.equal(body.status, 'error');
    assert.equal(body.errorType, errorType);
  });
}

test("Grafana's exemplar probe (times in milliseconds) is answered: success with no exemplars", async () => {
  const { status, body } = await api('/prometheus/api/v1/query_exemplars?query=test&start=1700000000000&end=1700000001000');
  assert.equal(status, 200);
  assert.deepEqual(body, { status: 'success', data: [] });
});

test('POST /flush cuts the head into blocks; the series are still listed', async () => {
  const response = await fetch(server.url + '/flush', { method: 'POST' });
  assert.equal(response.status, 204);
  assert.ok(server.tsdb!.stats().blocks > 0);
  assert.deepEqual((await api('/api/v1/label/rank/values?match[]=train_loss')).body.data, ['0', '1']);
});
