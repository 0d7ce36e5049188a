import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, gzipSync } from 'node:zlib';
import snappy from 'snappy';
import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePushRequest } from '../../src/push/protobuf.ts';
import type { PushStream } from '../../src/push/types.ts';
import { openStore } from '../../src/store/store.ts';
import { makeTempDir, readAll, testOptions } from '../store/store-fixture.ts';
import { getJson, nowNs, pushJson, queryLines, queryRangeUrl, startTestServer, type TestServer } from './test-server.ts';

describe('push API against the real store and engine', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ limits: { max_line_size: '1KB' }, server: { max_request_body_size: '1MB', max_decompressed_body_size: '4MB' } });
  });
  after(async () => {
    await server.dispose();
  });

  test('JSON, gzip JSON, deflate JSON and protobuf+snappy pushes answer 204 and read back', async () => {
    const t = nowNs();
    const json = { streams: [{ stream: { job: 'push', format: 'json' }, values: [[String(t), 'json line'], [String(t + 1n), 'json with meta', { trace_id: 'abc' }]] }] };
    const responses = [
      await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) }),
      await fetch(`${server.url}/loki/api/v1/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify({ streams: [{ stream: { job: 'push', format: 'gzip' }, values: [[String(t + 2n), 'gzip line']] }] })),
      }),
      await fetch(`${server.url}/loki/api/v1/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'deflate' },
        body: deflateSync(JSON.stringify({ streams: [{ stream: { job: 'push', format: 'deflate' }, values: [[String(t + 3n), 'deflate line']] }] })),
      }),
      await fetch(`${server.url}/loki/api/v1/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: encodePushRequest([
          { labels: { job: 'push', format: 'protobuf' }, entries: [{ timestampNs: t + 4n, line: 'protobuf line', structuredMetadata: [{ name: 'trace_id', value: 'def' }] }] },
        ]),
      }),
      await fetch(`${server.url}/api/prom/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ streams: [{ labels: '{job="push", format="legacy"}', entries: [{ ts: new Date(Number(t / 1_000_000n) + 5).toISOString(), line: 'legacy line' }] }] }),
      }),
    ];
    for (const response of responses) assert.equal(response.status, 204, await response.text());
    assert.deepEqual(await queryLines(server.url, '{job="push"}'), ['json line', 'json with meta', 'gzip line', 'deflate line', 'protobuf line', 'legacy line']);
    // Structured metadata is stored and comes back under categorize-labels.
    const { body } = await getJson(queryRangeUrl(server.url, '{job="push", format=~"json|protobuf"}'), { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' });
    const values = (body as { data: { result: Array<{ values: Array<[string, string, Record<string, unknown>]> }> } }).data.result.flatMap((stream) => stream.values);
    const metadataByLine = Object.fromEntries(values.map((value) => [value[1], value[2]]));
    assert.deepEqual(metadataByLine['json with meta'], { structuredMetadata: { trace_id: 'abc' } });
    assert.deepEqual(metadataByLine['protobuf line'], { structuredMetadata: { trace_id: 'def' } });
    assert.deepEqual(metadataByLine['json line'], {});
  });

  test('every malformed payload kind gets a 400 saying what was wrong, and the server stays up', async () => {
    const t = String(nowNs());
    const cases: Array<{ name: string; headers: Record<string, string>; body: Buffer | string; status: number; message: RegExp }> = [
      { name: 'truncated JSON', headers: { 'content-type': 'application/json' }, body: '{"streams":[', status: 400, message: /malformed JSON push body/ },
      { name: 'empty JSON body', headers: { 'content-type': 'application/json' }, body: '', status: 400, message: /malformed JSON push body/ },
      { name: 'number timestamp', headers: { 'content-type': 'application/json' }, body: `{"streams":[{"stream":{"a":"b"},"values":[[${t},"x"]]}]}`, status: 400, message: /values\[0\]\[0\] must be a string/ },
      { name: 'bad gzip', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: 'not gzip', status: 400, message: /malformed gzip body/ },
      { name: 'bad deflate', headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' }, body: 'not deflate', status: 400, message: /malformed deflate body/ },
      { name: 'unknown encoding', headers: { 'content-type': 'application/json', 'content-encoding': 'br' }, body: '{}', status: 400, message: /Content-Encoding "br" not supported/ },
      { name: 'bad snappy', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from([0x05, 0xff, 0xff, 0xff]), status: 400, message: /malformed snappy body/ },
      { name: 'bad protobuf', headers: { 'content-type': 'application/x-protobuf' }, body: snappy.compressSync(Buffer.from([0x0a, 0xff, 0x01, 0x02])), status: 400, message: /malformed protobuf PushRequest/ },
      {
        name: 'bad protobuf labels',
        headers: { 'content-type': 'application/x-protobuf' },
        body: encodePushRequestWithLabelText('{job=train}'),
        status: 400,
        message: /error parsing labels '\{job=train\}'/,
      },
      { name: 'empty label set', headers: { 'content-type': 'application/json' }, body: `{"streams":[{"stream":{},"values":[["${t}","x"]]}]}`, status: 400, message: /at least one label pair is required per stream/ },
      { name: 'bad label name', headers: { 'content-type': 'application/json' }, body: `{"streams":[{"stream":{"1x":"y"},"values":[["${t}","x"]]}]}`, status: 400, message: /invalid label name "1x"/ },
      { name: 'no entries', headers: { 'content-type': 'application/json' }, body: '{"streams":[{"stream":{"a":"b"},"values":[]}]}', status: 400, message: /at least one valid stream is required/ },
      { name: 'line too long', headers: { 'content-type': 'application/json' }, body: `{"streams":[{"stream":{"a":"b"},"values":[["${t}","${'x'.repeat(2000)}"]]}]}`, status: 400, message: /max entry size '1024' bytes exceeded for stream '\{a="b"\}' while adding an entry with length '2000' bytes/ },
      { name: 'no content type', headers: {}, body: Buffer.from('x'), status: 400, message: /no media type|malformed snappy/ },
    ];
    for (const item of cases) {
      const response = await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: item.headers, body: item.body });
      const text = await response.text();
      assert.equal(response.status, item.status, `${item.name}: ${text}`);
      assert.match(text, item.message, item.name);
      assert.doesNotMatch(text, /\n\s+at /, `${item.name}: no stack trace`);
    }
    assert.equal((await fetch(`${server.url}/ready`)).status, 200);
    const ok = await pushJson(server.url, [{ stream: { job: 'after-bad' }, values: [[String(nowNs()), 'still up']] }]);
    assert.equal(ok.status, 204);
  });

  test('a 400 for some entries still ingests the valid rest, as Loki does', async () => {
    const t = nowNs();
    const response = await pushJson(server.url, [
      { stream: { job: 'partial' }, values: [[String(t), 'kept'], [String(t + 1n), 'y'.repeat(1500)]] },
    ]);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /max entry size/);
    assert.deepEqual(await queryLines(server.url, '{job="partial"}'), ['kept']);
  });

  test('bodies over the size limits get 413', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'a');
    const response = await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    assert.equal(response.status, 413);
    assert.match(await response.text(), /request body too large: more than 1048576 bytes/);
    // A small gzip body that inflates past max_decompressed_body_size.
    const bomb = gzipSync(Buffer.alloc(5 * 1024 * 1024, ' '));
    const inflated = await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
    assert.equal(inflated.status, 413);
    assert.match(await inflated.text(), /request body too large: more than 4194304 bytes after gzip decompression/);
  });

  test('out-of-order entries within a stream are accepted and read back in order', async () => {
    const t = nowNs();
    const response = await pushJson(server.url, [{ stream: { job: 'unordered' }, values: [[String(t + 2n), 'third'], [String(t), 'first'], [String(t + 1n), 'second']] }]);
    assert.equal(response.status, 204);
    assert.deepEqual(await queryLines(server.url, '{job="unordered"}'), ['first', 'second', 'third']);
  });

  test('/metrics counts lines and bytes per tenant and discards per reason', async () => {
    const { text } = await getJson(`${server.url}/metrics`);
    const ingested = /rankscope_ingested_lines_total\{tenant="fake"\} (\d+)/.exec(text);
    assert.ok(ingested !== null && Number(ingested[1]) >= 8, text);
    assert.match(text, /rankscope_ingested_bytes_total\{tenant="fake"\} \d+/);
    assert.match(text, /rankscope_discarded_lines_total\{tenant="fake",reason="line_too_long"\} [1-9]/);
    assert.match(text, /rankscope_wal_fsync_duration_seconds_count \d+/);
    assert.match(text, /rankscope_query_duration_seconds_bucket\{endpoint="query_range",status="200",le="0.1"\} \d+/);
    // The process's memory, as the RSS budgets are read (bench/ingest-flush-bench.ts --sample-ms).
    for (const gauge of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_external_memory_bytes']) {
      assert.ok(Number(new RegExp(`^${gauge} (\\d+)$`, 'm').exec(text)?.[1] ?? 0) > 0, `${gauge} in ${text}`);
    }
  });
});

describe('tenants, auth and limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ auth_enabled: true, limits: { ingestion_rate_mb: 0.01, ingestion_burst_size_mb: 0.02, max_line_size_truncate: true, max_line_size: '100B' } });
  });
  after(async () => {
    await server.dispose();
  });

  test('without X-Scope-OrgID a push or query is 401 no org id', async () => {
    const push = await pushJson(server.url, [{ stream: { a: 'b' }, values: [[String(nowNs()), 'x']] }]);
    assert.equal(push.status, 401);
    assert.equal(await push.text(), 'no org id');
    const query = await getJson(queryRangeUrl(server.url, '{a="b"}'));
    assert.equal(query.status, 401);
    assert.equal(query.text, 'no org id');
    const labels = await getJson(`${server.url}/loki/api/v1/labels`);
    assert.equal(labels.status, 401);
  });

  test('tenants only see their own streams', async () => {
    const t = String(nowNs());
    assert.equal((await pushJson(server.url, [{ stream: { job: 'iso' }, values: [[t, 'from team-a']] }], { 'X-Scope-OrgID': 'team-a' })).status, 204);
    assert.equal((await pushJson(server.url, [{ stream: { job: 'iso' }, values: [[t, 'from team-b']] }], { 'X-Scope-OrgID': 'team-b' })).status, 204);
    assert.deepEqual(await queryLines(server.url, '{job="iso"}', { 'X-Scope-OrgID': 'team-a' }), ['from team-a']);
    assert.deepEqual(await queryLines(server.url, '{job="iso"}', { 'X-Scope-OrgID': 'team-b' }), ['from team-b']);
    assert.deepEqual(await queryLines(server.url, '{job="iso"}', { 'X-Scope-OrgID': 'team-c' }), []);
  });

  test('truncate mode cuts long lines instead of rejecting them', async () => {
    const response = await pushJson(server.url, [{ stream: { job: 'trunc' }, values: [[String(nowNs()), 'z'.repeat(300)]] }], { 'X-Scope-OrgID': 'team-t' });
    assert.equal(response.status, 204);
    assert.deepEqual(await queryLines(server.url, '{job="trunc"}', { 'X-Scope-OrgID': 'team-t' }), ['z'.repeat(100)]);
    const { text } = await getJson(`${server.url}/metrics`);
    assert.match(text, /rankscope_truncated_lines_total\{tenant="team-t"\} 1/);
  });

  test("past the tenant's rate and burst a push gets 429 with Loki's message; other tenants are unaffected", async () => {
    const line = 'r'.repeat(90);
    // Burst is ~20 KB: at 90 bytes a line, 1000 lines in one push must exceed it.
    const values = Array.from({ length: 1000 }, (_, i) => [String(nowNs() + BigInt(i)), line]);
    const limited = await pushJson(server.url, [{ stream: { job: 'rate' } , values }], { 'X-Scope-OrgID': 'noisy' });
    assert.equal(limited.status, 429);
    assert.match(await limited.text(), /^ingestion rate limit exceeded for user noisy \(limit: 10486 bytes\/sec\) while attempting to ingest '1000' lines totaling '90000' bytes, reduce log volume/);
    const quiet = await pushJson(server.url, [{ stream: { job: 'rate' }, values: [[String(nowNs()), 'small']] }], { 'X-Scope-OrgID': 'quiet' });
    assert.equal(quiet.status, 204);
  });
});

/** A protobuf PushRequest whose label text is given verbatim (the encoder would format valid labels). */
function encodePushRequestWithLabelText(labelText: string): Buffer {
  const labels = Buffer.from(labelText);
  const stream = Buffer.concat([Buffer.from([0x0a, labels.length]), labels]);
  return snappy.compressSync(Buffer.concat([Buffer.from([0x0a, stream.length]), stream]));
}

describe('what the WAL holds for a push', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ limits: { max_line_size: '1KB' } });
  });
  after(async () => {
    await server.dispose();
  });

  test('a protobuf push accepted as it came is logged as its body (version 4), any other as version 3; both replay', async () => {
    const t = nowNs();
    const entry = (i: number, line = `line ${i}`) => ({ timestampNs: t + BigInt(i), line });
    // Each case: the push, and the WAL record version it must be logged as (other changes ingest
    // makes, service_name and detected_level, in test/ingest/distributor.test.ts).
    const cases: Array<{ name: string; push: () => Promise<Response>; version: number }> = [
      { name: 'protobuf as it came', push: () => pushProtobuf([{ labels: { job: 'wal', case: 'as-is' }, entries: [entry(0), entry(1)] }, { labels: { job: 'wal', case: 'as-is-2' }, entries: [entry(2)] }]), version: 4 },
      { name: 'protobuf, one line too long (dropped)', push: () => pushProtobuf([{ labels: { job: 'wal', case: 'long' }, entries: [entry(3), entry(4, 'x'.repeat(2000))] }]), version: 3 },
      { name: 'protobuf, an empty label value (dropped from the stream)', push: () => pushProtobuf([{ labels: { job: 'wal', case: 'empty', gone: '' }, entries: [entry(5)] }]), version: 3 },
      { name: 'protobuf, a stream without entries beside', push: () => pushProtobuf([{ labels: { job: 'wal', case: 'with-empty' }, entries: [entry(7)] }, { labels: { job: 'wal', case: 'none' }, entries: [] }]), version: 3 },
      { name: 'JSON', push: () => pushJson(server.url, [{ stream: { job: 'wal', case: 'json' }, values: [[String(t + 8n), 'line 8']] }]), version: 3 },
    ];
    const versions: number[] = [];
    for (const { name, push, version } of cases) {
      const response = await push();
      assert.ok(response.status === 204 || response.status === 400, `${name}: ${response.status} ${await response.text()}`);
      versions.push(version);
    }
    // The WAL as it is now (nothing was cut yet): one record per push, in order.
    const copy = await makeTempDir('wal-versions-copy');
    try {
      await cp(join(server.dataDir, 'wal'), join(copy.path, 'wal'), { recursive: true });
      const written: number[] = [];
      for (const name of (await readdir(join(copy.path, 'wal'))).sort()) {
        const bytes = await readFile(join(copy.path, 'wal', name));
        for (let offset = 0; offset < bytes.length; offset += 8 + bytes.readUInt32LE(offset)) written.push(recordVersion(bytes.readBigUInt64LE(offset + 8)));
      }
      assert.deepEqual(written, versions);
      // Replayed on its own, the WAL gives every accepted line, with the labels ingest gave it.
      const store = await openStore(testOptions(copy.path));
      try {
        const lines = await readAll(store, 'fake', [{ name: 'job', type: '=', value: 'wal' }]);
        assert.deepEqual(lines, [0, 1, 2, 3, 5, 7, 8].map((i) => `${t + BigInt(i)} line ${i}`));
        const series = (await store.series('fake', [{ name: 'job', type: '=', value: 'wal' }], 0n, 1n << 62n)).map((stream) => JSON.stringify(Object.entries(stream.labels).sort())).sort();
        assert.deepEqual(series, [
          { case: 'as-is', job: 'wal' },
          { case: 'as-is-2', job: 'wal' },
          { case: 'empty', job: 'wal' },
          { case: 'json', job: 'wal' },
          { case: 'long', job: 'wal' },
          { case: 'with-empty', job: 'wal' },
        ].map((labels) => JSON.stringify(Object.entries(labels).sort())).sort());
      } finally {
        await store.close();
      }
    } finally {
      await copy.remove();
    }
  });

  function pushProtobuf(streams: PushStream[]): Promise<Response> {
    return fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(encodePushRequest(streams)) });
  }
});

/** A WAL record's version from its first u64 (wal-record.ts): bits 63, 62 and 61. */
function recordVersion(first: bigint): number {
  if (first < 1n << 63n) return 1;
  return (first & (1n << 62n)) === 0n ? 2 : (first & (1n << 61n)) === 0n ? 3 : 4;
}
