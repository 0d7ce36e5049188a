// Fuzzing with a fixed seed over a real server: ≥ 5,000 mutated push bodies (JSON, legacy JSON,
// gzip, protobuf+snappy; mutated before and after compression, with mismatched headers) and ≥ 3,000
// mutated LogQL queries (range, instant, format_query, index/stats). Every answer must be a 2xx, or a
// 4xx with a message; never a 5xx, never slower than ANSWER_TIMEOUT_MS; /ready answers at the end.
// A failure prints the seed-reproducible case (its index, kind and input) so it can be replayed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import snappy from 'snappy';
import { encodePushRequest } from '../../src/push/protobuf.ts';
import type { PushStream } from '../../src/push/types.ts';
import { nowNs, startTestServer, type TestServer } from '../server/test-server.ts';

const SEED = 20_261_206;
const PUSH_CASES = 5_200;
const QUERY_CASES = 3_200;
const CONCURRENCY = 4;
const ANSWER_TIMEOUT_MS = 10_000;
const MAX_BODY_BYTES = 64 * 1024;

/** mulberry32: small, fast, and the same sequence on every machine. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Fuzzer {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = random(seed);
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(probability: number): boolean {
    return this.next() < probability;
  }
}

const INTERESTING_STRINGS = ['', '-1', '0', '18446744073709551616', '99999999999999999999', '1e400', 'NaN', '\u0000', '\ud800', '{', '{a="b"}', '{a=}', 'é'.repeat(40), 'x'.repeat(5000), '__name__', '"', '\\', '%00'];
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a, 0x22, 0x5b, 0x7b, 0x5d, 0x7d];

function mutateBytes(f: Fuzzer, input: Buffer): Buffer {
  let bytes = Buffer.from(input);
  const rounds = 1 + f.int(4);
  for (let round = 0; round < rounds; round++) {
    const at = bytes.length === 0 ? 0 : f.int(bytes.length);
    switch (f.int(8)) {
      case 0:
        if (bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << f.int(8));
        break;
      case 1:
        if (bytes.length > 0) bytes[at] = f.pick(INTERESTING_BYTES);
        break;
      case 2: {
        const insert = Buffer.from(Array.from({ length: 1 + f.int(16) }, () => f.int(256)));
        bytes = Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at)]);
        break;
      }
      case 3:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + f.int(32)))]);
        break;
      case 4: {
        // Duplicate a slice many times: the amplification shape.
        const slice = bytes.subarray(at, Math.min(bytes.length, at + 1 + f.int(24)));
        const copies = Math.min(1 + f.int(500), Math.floor(MAX_BODY_BYTES / Math.max(1, slice.length)));
        bytes = Buffer.concat([bytes.subarray(0, at), ...Array.from({ length: copies }, () => slice), bytes.subarray(at)]);
        break;
      }
      case 5:
        bytes = bytes.subarray(0, at);
        break;
      case 6: {
        // An extreme varint (protobuf lengths, counts, timestamps).
        const varint = f.pick([[0xff, 0xff, 0xff, 0xff, 0x0f], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [0x00]]);
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(varint), bytes.subarray(at)]);
        break;
      }
      default:
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(f.pick(INTERESTING_STRINGS)), bytes.subarray(at)]);
    }
  }
  return bytes.length > MAX_BODY_BYTES ? bytes.subarray(0, MAX_BODY_BYTES) : bytes;
}

function randomJsonValue(f: Fuzzer, depth = 0): unknown {
  switch (f.int(depth > 3 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return f.chance(0.5);
    case 2:
      return f.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 63, Number.MAX_SAFE_INTEGER]);
    case 3:
      return f.pick(INTERESTING_STRINGS);
    case 4:
      return String(BigInt(Date.now()) * 1_000_000n + BigInt(f.int(1_000_000)));
    case 5:
      return Array.from({ length: f.int(4) }, () => randomJsonValue(f, depth + 1));
    case 6:
      return Object.fromEntries(Array.from({ length: f.int(4) }, () => [f.pick(['stream', 'values', 'streams', 'labels', 'entries', 'ts', 'line', 'a', '']), randomJsonValue(f, depth + 1)]));
    default:
      return [String(nowNs()), f.pick(INTERESTING_STRINGS)];
  }
}

/** Replaces one node of a parsed JSON document with a random value. */
function mutateJson(f: Fuzzer, document: unknown): unknown {
  const root = structuredClone(document);
  let node: unknown = root;
  for (let depth = 0; depth < 6; depth++) {
    if (typeof node !== 'object' || node === null) break;
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = f.pick(keys);
    const child = (node as Record<string, unknown>)[key];
    if (f.chance(0.3) || typeof child !== 'object' || child === null) {
      (node as Record<string, unknown>)[key] = randomJsonValue(f);
      return root;
    }
    node = child;
  }
  return randomJsonValue(f);
}

/** Seconds at the int64 ends and past year 9999, 1970 itself, before 1970. */
const EXTREME_TIMESTAMPS_NS = [(2n ** 63n - 1n) * 1_000_000_000n, -(2n ** 63n) * 1_000_000_000n, 253_402_300_800n * 1_000_000_000n, 1n, -1_000_000_001n];

function baseStreams(f: Fuzzer, extremeTimestamps = true): PushStream[] {
  const t = nowNs();
  return Array.from({ length: 1 + f.int(3) }, (_, s) => ({
    labels: { job: 'fuzz', rank: String(f.int(8)), ...(f.chance(0.3) ? { level: f.pick(['info', 'error']) } : {}) },
    entries: Array.from({ length: 1 + f.int(5) }, (_, i) => ({
      timestampNs: extremeTimestamps && f.chance(0.05) ? f.pick(EXTREME_TIMESTAMPS_NS) : t - BigInt(f.int(60_000)) * 1_000_000n + BigInt(s * 10 + i),
      line: f.pick(['step=1 loss=0.5', '{"level":"info","loss":0.25,"msg":"ok"}', 'Traceback (most recent call last):', 'NCCL WARN timeout', 'level=error msg="oom" rank=3']),
      ...(f.chance(0.2) ? { structuredMetadata: [{ name: 'trace_id', value: String(f.int(1000)) }] } : {}),
    })),
  }));
}

function jsonOf(streams: PushStream[]): Record<string, unknown> {
  return {
    streams: streams.map((stream) => ({
      stream: stream.labels,
      values: stream.entries.map((entry) => [String(entry.timestampNs), entry.line, ...(entry.structuredMetadata ? [Object.fromEntries(entry.structuredMetadata.map((p) => [p.name, p.value]))] : [])]),
    })),
  };
}

/** RFC3339 of a timestamp, or its digits when Date cannot print it (the server must refuse those). */
function isoOrRaw(ns: bigint): string {
  const date = new Date(Number(ns / 1_000_000n));
  return Number.isNaN(date.getTime()) ? String(ns) : date.toISOString();
}

interface PushCase {
  kind: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

function pushCase(f: Fuzzer): PushCase {
  const streams = baseStreams(f);
  const json = jsonOf(streams);
  const jsonText = () => Buffer.from(JSON.stringify(f.chance(0.5) ? mutateJson(f, json) : json));
  const mutatedJson = () => (f.chance(0.5) ? mutateBytes(f, jsonText()) : jsonText());
  const tenant = f.chance(0.9) ? 'fuzz' : f.pick(['', '.', '..', 'a/b', 'x'.repeat(151), 'a|b', 'é']);
  const base = { 'x-scope-orgid': tenant };
  let result: PushCase;
  switch (f.int(7)) {
    case 0:
      result = { kind: 'json', path: '/loki/api/v1/push', headers: { ...base, 'content-type': 'application/json' }, body: mutatedJson() };
      break;
    case 1:
      result = { kind: 'gzip(json)', path: '/loki/api/v1/push', headers: { ...base, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(mutatedJson()) };
      break;
    case 2:
      result = { kind: 'mutated gzip', path: '/loki/api/v1/push', headers: { ...base, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: mutateBytes(f, gzipSync(jsonText())) };
      break;
    case 3: {
      const raw = snappy.uncompressSync(encodePushRequest(streams)) as Buffer;
      result = { kind: 'snappy(protobuf)', path: '/loki/api/v1/push', headers: { ...base, 'content-type': 'application/x-protobuf' }, body: snappy.compressSync(mutateBytes(f, raw)) };
      break;
    }
    case 4:
      result = { kind: 'mutated snappy', path: '/loki/api/v1/push', headers: { ...base, 'content-type': 'application/x-protobuf' }, body: mutateBytes(f, encodePushRequest(streams)) };
      break;
    case 5: {
      const legacy = {
        streams: streams.map((stream) => ({
          labels: `{${Object.entries(stream.labels).map(([k, v]) => `${k}="${v}"`).join(', ')}}`,
          entries: stream.entries.map((entry) => ({ ts: isoOrRaw(entry.timestampNs), line: entry.line })),
        })),
      };
      const text = Buffer.from(JSON.stringify(f.chance(0.5) ? mutateJson(f, legacy) : legacy));
      result = { kind: 'legacy json', path: '/api/prom/push', headers: { ...base, 'content-type': 'application/json' }, body: f.chance(0.5) ? mutateBytes(f, text) : text };
      break;
    }
    default:
      result = {
        kind: 'mismatched headers',
        path: f.pick(['/loki/api/v1/push', '/api/prom/push']),
        headers: { ...base, 'content-type': f.pick(['application/json', 'application/x-protobuf', 'text/plain', 'application/json; charset=utf-8', '', 'multipart/form-data']), 'content-encoding': f.pick(['gzip', 'deflate', 'snappy', 'br', 'identity', '']) },
        body: f.pick([jsonText(), encodePushRequest(streams), gzipSync(jsonText())]),
      };
  }
  for (const name of Object.keys(result.headers)) if (result.headers[name] === '') delete result.headers[name];
  return result;
}

const BASE_QUERIES = [
  '{job="fuzz"}',
  '{job="fuzz", rank=~"1|2"} |= "loss"',
  '{job="fuzz"} != "NCCL" |~ "loss=[0-9.]+"',
  '{job="fuzz"} | json | loss > 0.1',
  '{job="fuzz"} | logfmt | level="error" | line_format "{{.rank}} {{.msg}}"',
  '{job="fuzz"} | regexp "loss=(?P<loss>[0-9.]+)" | unwrap loss',
  '{job="fuzz"} | pattern "<_> loss=<loss>" | label_format l=`{{ .loss | printf "%.2f" }}`',
  '{job="fuzz"} | json | keep level, loss | drop rank',
  '{job="fuzz"} | decolorize | line_format `{{ __line__ | upper }}`',
  'sum by (rank) (count_over_time({job="fuzz"}[1m]))',
  'rate({job="fuzz"} |= "Traceback" [5m])',
  'sum(rate({job="fuzz"}[1m])) by (level) / 2',
  'avg_over_time({job="fuzz"} | logfmt | unwrap loss [5m]) by (rank)',
  'quantile_over_time(0.99, {job="fuzz"} | json | unwrap loss | __error__="" [5m]) by (rank)',
  'topk(3, sum by (rank) (bytes_over_time({job="fuzz"}[5m])))',
  'sum(count_over_time({job="fuzz"}[1m])) > bool 1',
  'label_replace(sum by (rank) (rate({job="fuzz"}[1m])), "r", "$1", "rank", "(.*)")',
  'vector(1) + sum(rate({job="fuzz"}[1m] offset 1m))',
  'absent_over_time({job="nope"}[5m])',
  'sum by (rank) (rate({job="fuzz"} | json | __error__="" [1m])) and on (rank) sum by (rank) (rate({job="fuzz"}[1m]))',
  'sort_desc(sum by (rank) (count_over_time({job="fuzz"} |= ip("10.0.0.0/8") [1m])))',
  '{job="fuzz"} | json loss="loss", msg | line_format "{{ if gt (len .msg) 1 }}{{ .msg }}{{ end }}"',
];
const QUERY_FRAGMENTS = ['{', '}', '(', ')', '[', ']', '|', '|=', '|~', '!=', '!~', '=~', '"', '`', ',', ' by ', ' without ', 'sum', 'rate', 'count_over_time', '[1m]', '[0s]', '[999999999h]', ' offset -1h', ' unwrap ', '| json', '| logfmt', '| line_format "{{.', '}}"', ' > ', ' bool ', ' on() ', ' group_left ', '1e308', '-0', 'NaN', 'Inf', '0x1F', '.*', '(?i)', '\\', '__error__', '{{', 'repeat 99999', ' or ', ' unless ', 'topk(', 'quantile_over_time(', '| unpack', '| decolorize', '#', '\n'];

function queryCase(f: Fuzzer): { path: string; params: Record<string, string> } {
  let query = f.pick(BASE_QUERIES);
  // Some queries stay valid so the engine runs them; the rest stress the parser.
  const rounds = f.int(3);
  for (let round = 0; round < rounds; round++) {
    const at = f.int(query.length + 1);
    switch (f.int(5)) {
      case 0:
        query = query.slice(0, at) + f.pick(QUERY_FRAGMENTS) + query.slice(at);
        break;
      case 1:
        query = query.slice(0, at) + query.slice(at + 1 + f.int(6));
        break;
      case 2:
        query = query.slice(0, at) + String.fromCharCode(32 + f.int(95)) + query.slice(at + 1);
        break;
      case 3: {
        const other = f.pick(BASE_QUERIES);
        query = query.slice(0, at) + other.slice(f.int(other.length));
        break;
      }
      default:
        query = query.slice(0, at) + query.slice(at, at + 1 + f.int(10)).repeat(1 + f.int(8)) + query.slice(at);
    }
  }
  const endS = Math.floor(Date.now() / 1000) + 60;
  const startS = endS - 600;
  let result: { path: string; params: Record<string, string> };
  const range = { start: String(startS), end: String(endS) };
  switch (f.int(10)) {
    case 0:
      result = { path: '/loki/api/v1/query', params: { query, time: String(endS) } };
      break;
    case 1:
      result = { path: '/loki/api/v1/format_query', params: { query } };
      break;
    case 2:
      result = { path: f.pick(['/loki/api/v1/index/stats', '/loki/api/v1/index/volume', '/loki/api/v1/index/volume_range']), params: { query, ...range, step: '60' } };
      break;
    case 3:
      result = { path: f.pick(['/loki/api/v1/series', '/api/prom/series']), params: { 'match[]': query, ...range } };
      break;
    case 4:
      result = { path: f.pick(['/loki/api/v1/labels', '/loki/api/v1/label/rank/values', '/loki/api/v1/detected_labels']), params: { query, ...range } };
      break;
    case 5:
      result = { path: f.pick(['/loki/api/v1/detected_fields', '/loki/api/v1/detected_field/loss/values', '/loki/api/v1/patterns']), params: { query, ...range } };
      break;
    default:
      result = { path: '/loki/api/v1/query_range', params: { query, start: String(startS), end: String(endS), step: f.pick(['1', '15', '60', '0.5', '1m']), limit: f.pick(['10', '100', '5000']) } };
  }
  // Now and then a parameter is hostile too.
  if (f.chance(0.15)) result.params[f.pick(['start', 'end', 'time', 'step', 'limit', 'interval', 'since', 'direction'])] = f.pick(PARAM_VALUES);
  return result;
}

const PARAM_VALUES = ['1e400', '-1e400', '-1', '0', '99999999999999999999', '-99999999999999999999', 'NaN', 'Infinity', '1e-9', '', 'abc', '9999999999y', '0.0000001', '2026-13-45T99:99:99Z', '1.5.5', '0x10'];

describe('fuzz: mutated pushes and queries never get a 5xx', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ auth_enabled: true, server: { log_level: 'fatal' } });
    // Data for queries to run over.
    const f = new Fuzzer(SEED);
    const seedBody = JSON.stringify(jsonOf(Array.from({ length: 10 }, () => baseStreams(f, false)).flat()));
    const response = await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-scope-orgid': 'fuzz' }, body: seedBody });
    assert.equal(response.status, 204, await response.text());
  });
  after(async () => {
    await server.dispose();
  });

  /** Sends every case (CONCURRENCY at a time) and collects the first problems; returns answers by status. */
  const run = async (count: number, send: (index: number) => Promise<string | undefined>): Promise<Map<number, number>> => {
    const problems: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < count && problems.length < 5) {
        const index = next++;
        const problem = await send(index);
        if (problem !== undefined) problems.push(problem);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.deepEqual(problems, []);
    const ready = await fetch(`${server.url}/ready`);
    assert.equal(ready.status, 200, 'the server is still up and ready');
    const counts = new Map(statuses);
    statuses.clear();
    return counts;
  };
  const statuses = new Map<number, number>();

  const judge = async (what: () => string, request: () => Promise<Response>): Promise<string | undefined> => {
    let response: Response;
    try {
      response = await request();
    } catch (error) {
      return `${what()}: no answer within ${ANSWER_TIMEOUT_MS} ms (${(error as Error).message})`;
    }
    const text = await response.text();
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    if (response.status >= 500) return `${what()}: ${response.status} ${text.slice(0, 200)}`;
    if (response.status >= 400 && text.trim() === '') return `${what()}: ${response.status} with an empty body`;
    if (response.status >= 300 && response.status < 400) return `${what()}: unexpected ${response.status}`;
    return undefined;
  };

  test(`${PUSH_CASES} mutated push bodies`, { timeout: 120_000 }, async (t) => {
    const f = new Fuzzer(SEED + 1);
    const cases = Array.from({ length: PUSH_CASES }, () => pushCase(f));
    const kinds = new Map<string, number>();
    for (const item of cases) kinds.set(item.kind, (kinds.get(item.kind) ?? 0) + 1);
    assert.ok([...kinds.values()].every((n) => n > 500), `every kind is well represented: ${JSON.stringify([...kinds])}`);
    const answers = await run(cases.length, (index) => {
      const item = cases[index]!;
      return judge(
        () => `push case ${index} (${item.kind}, ${JSON.stringify(item.headers)}, body base64 ${item.body.subarray(0, 300).toString('base64')})`,
        () => fetch(`${server.url}${item.path}`, { method: 'POST', headers: item.headers, body: item.body, signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) }),
      );
    });
    t.diagnostic(`answers by status: ${JSON.stringify([...answers].sort())}`);
    // Mutations must both get through (some 204) and be caught (many 400/413/415): else they test nothing.
    assert.ok((answers.get(204) ?? 0) > 200 && (answers.get(400) ?? 0) > 1000, JSON.stringify([...answers]));
  });

  test(`${QUERY_CASES} mutated LogQL queries`, { timeout: 120_000 }, async (t) => {
    const f = new Fuzzer(SEED + 2);
    const cases = Array.from({ length: QUERY_CASES }, () => queryCase(f));
    const answers = await run(cases.length, (index) => {
      const item = cases[index]!;
      return judge(
        () => `query case ${index} (${item.path} ${JSON.stringify(item.params)})`,
        () => fetch(`${server.url}${item.path}?${new URLSearchParams(item.params)}`, { headers: { 'x-scope-orgid': 'fuzz' }, signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) }),
      );
    });
    t.diagnostic(`answers by status: ${JSON.stringify([...answers].sort())}`);
    assert.ok((answers.get(200) ?? 0) > 300 && (answers.get(400) ?? 0) > 1000, JSON.stringify([...answers]));
  });
});
