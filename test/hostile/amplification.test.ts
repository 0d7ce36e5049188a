// Small bodies that expand into millions of entries, and values that overflow what a decoder builds:
// each must get a prompt 4xx naming the limit (or be accepted within limits), while /ready keeps
// answering and the server stays up. These reproduce the pushes that once killed or froze it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import snappy from 'snappy';
import { nowNs, startTestServer, type TestServer } from '../server/test-server.ts';
import { watchReady } from './ready-probe.ts';

/** A raw PushRequest of one stream whose `count` entries are empty (2 bytes each: field 2, length 0). */
function emptyEntriesPushRequest(count: number): Buffer {
  const labels = Buffer.from('{job="amp"}');
  const streamBody = Buffer.concat([Buffer.from([0x0a, labels.length]), labels, Buffer.alloc(count * 2, Buffer.from([0x12, 0x00]))]);
  return Buffer.concat([Buffer.from([0x0a]), varint(streamBody.length), streamBody]);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

/** One stream with the given label-set text and one entry. */
function labelsPushRequest(labelText: string): Buffer {
  const labels = Buffer.from(labelText);
  const entry = Buffer.from([0x0a, 0x02, 0x08, 0x01, 0x12, 0x01, 0x78]);
  const streamBody = Buffer.concat([Buffer.from([0x0a]), varint(labels.length), labels, Buffer.from([0x12, entry.length]), entry]);
  return Buffer.concat([Buffer.from([0x0a]), varint(streamBody.length), streamBody]);
}

/** One entry whose timestamp has the given raw varint bytes as seconds. */
function timestampPushRequest(secondsVarint: Buffer, line: string): Buffer {
  const labels = Buffer.from('{job="ts"}');
  const timestamp = Buffer.concat([Buffer.from([0x08]), secondsVarint]);
  const lineBytes = Buffer.from(line);
  const entry = Buffer.concat([Buffer.from([0x0a, timestamp.length]), timestamp, Buffer.from([0x12, lineBytes.length]), lineBytes]);
  const stream = Buffer.concat([Buffer.from([0x0a, labels.length]), labels, Buffer.from([0x12, entry.length]), entry]);
  return Buffer.concat([Buffer.from([0x0a, stream.length]), stream]);
}

describe('amplification and overflow pushes', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.dispose();
  });

  const push = async (body: Buffer, headers: Record<string, string>, path = '/loki/api/v1/push') => {
    const startedMs = performance.now();
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers, body });
    return { status: response.status, text: await response.text(), elapsedMs: performance.now() - startedMs };
  };

  const cases: Array<{ name: string; body: () => Buffer; headers: Record<string, string>; status: number; message: RegExp; path?: string }> = [
    {
      name: '2.77 MB snappy protobuf of 31M empty entries',
      body: () => snappy.compressSync(emptyEntriesPushRequest(31_000_000)),
      headers: { 'content-type': 'application/x-protobuf' },
      status: 413,
      message: /more than 500000 entries \(server\.max_push_entries\)/,
    },
    {
      name: '0.72 MB snappy protobuf of 8M empty entries',
      body: () => snappy.compressSync(emptyEntriesPushRequest(8_000_000)),
      headers: { 'content-type': 'application/x-protobuf' },
      status: 413,
      message: /more than 500000 entries/,
    },
    {
      name: '95 KB gzip JSON of 5M tiny entries',
      body: () => gzipSync(`{"streams":[{"stream":{"job":"amp"},"values":[${'["1",""],'.repeat(5_000_000 - 1)}["1",""]]}]}`),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      status: 413,
      message: /more than 500000 entries/,
    },
    {
      name: 'gzip JSON of one metadata object with 3M keys',
      body: () => gzipSync(`{"streams":[{"stream":{"job":"amp"},"values":[["1","x",{${'"a":"",'.repeat(3_000_000)}"b":""}]]}]}`),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      status: 400,
      message: /an object with more than 10000 keys at byte \d+/,
    },
    {
      name: 'JSON nested 100k levels deep',
      body: () => Buffer.from(`{"streams":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
      headers: { 'content-type': 'application/json' },
      status: 400,
      message: /nested deeper than 8 levels/,
    },
    {
      name: 'protobuf timestamp seconds = 2^63-1',
      body: () => snappy.compressSync(timestampPushRequest(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), 'far future')),
      headers: { 'content-type': 'application/x-protobuf' },
      status: 400,
      message: /timestamp seconds 9223372036854775807 outside 0001-01-01\.\.9999-12-31/,
    },
    {
      name: 'protobuf timestamp seconds = 2^48 (fits a 7-byte varint)',
      body: () => snappy.compressSync(timestampPushRequest(varint(2 ** 48), 'far future')),
      headers: { 'content-type': 'application/x-protobuf' },
      status: 400,
      message: /timestamp seconds 281474976710656 outside/,
    },
    {
      name: 'JSON timestamp of 20 nines (past what Date can print)',
      body: () => Buffer.from(JSON.stringify({ streams: [{ stream: { job: 'ts' }, values: [['99999999999999999999', 'far future']] }] })),
      headers: { 'content-type': 'application/json' },
      status: 400,
      message: /timestamp too new: 5138-11-16T09:46:39.999Z/,
    },
  ];

  cases.push(
    {
      name: 'snappy protobuf whose label name is 30 MB',
      body: () => snappy.compressSync(labelsPushRequest(`{${'a'.repeat(30_000_000)}="x"}`)),
      headers: { 'content-type': 'application/x-protobuf' },
      status: 400,
      message: /labels of stream 0 are 30000006 characters, more than 262144: '\{a{199}… \(30000006 characters\)'$/,
    },
    {
      name: 'snappy protobuf whose label set has 1M pairs',
      body: () => snappy.compressSync(labelsPushRequest(`{${Array.from({ length: 1_000_000 }, (_, i) => `a${i}="x"`).join(',')}}`)),
      headers: { 'content-type': 'application/x-protobuf' },
      status: 400,
      message: /labels of stream 0 are \d+ characters, more than 262144/,
    },
    {
      name: 'JSON stream object with 1M label keys',
      body: () => gzipSync(`{"streams":[{"stream":{${Array.from({ length: 1_000_000 }, (_, i) => `"a${i}":"x"`).join(',')}},"values":[["1","x"]]}]}`),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      status: 400,
      message: /an object with more than 10000 keys/,
    },
    {
      name: 'JSON label value of 30 MB',
      body: () => gzipSync(`{"streams":[{"stream":{"job":"${'v'.repeat(30_000_000)}"},"values":[["${nowNs()}","x"]]}]}`),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      status: 400,
      message: /has label value too long: 'v{4096}… \(30000000 characters\)'$/,
    },
    {
      name: 'legacy JSON whose labels string is 30 MB',
      body: () => gzipSync(`{"streams":[{"labels":"{job=\\"${'v'.repeat(30_000_000)}\\"}","entries":[{"ts":"2026-01-01T00:00:00Z","line":"x"}]}]}`),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      status: 400,
      message: /labels is 30000008 characters, more than 262144/,
      path: '/api/prom/push',
    },
  );

  for (const item of cases) {
    test(`${item.name}: ${item.status} with a message, promptly, /ready answering throughout`, async () => {
      const body = item.body();
      const ready = watchReady(server.url);
      const answer = await push(body, item.headers, item.path);
      const readiness = await ready.stop();
      assert.equal(answer.status, item.status, answer.text.slice(0, 300));
      assert.match(answer.text, item.message);
      assert.ok(answer.elapsedMs < 5000, `answered in ${Math.round(answer.elapsedMs)} ms`);
      assert.equal(readiness.failures, 0, `/ready failed ${readiness.failures} times`);
    });
  }

  test('a push of 200k entries that all fail validation answers 400 with 10 messages and a count, not 200k lines', async () => {
    const values = `${'["1","old"],'.repeat(200_000 - 1)}["1","old"]`;
    const answer = await push(Buffer.from(`{"streams":[{"stream":{"job":"old"},"values":[${values}]}]}`), { 'content-type': 'application/json' });
    assert.equal(answer.status, 400);
    const lines = answer.text.split('\n');
    assert.equal(lines.length, 11, answer.text.slice(0, 500));
    assert.match(lines[0]!, /has timestamp too old/);
    assert.match(lines[10]!, /and 199990 more rejected streams or entries not listed \(discarded lines by reason: greater_than_max_sample_age=200000\)/);
    assert.ok(answer.text.length < 4000);
  });

  test('a large push within the limits is accepted', async () => {
    const t = nowNs();
    const values = Array.from({ length: 100_000 }, (_, i) => [String(t + BigInt(i)), `line ${i}`]);
    const answer = await push(gzipSync(JSON.stringify({ streams: [{ stream: { job: 'big' }, values }] })), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(answer.status, 204, answer.text);
    const ready = await fetch(`${server.url}/ready`);
    assert.equal(ready.status, 200);
  });
});
