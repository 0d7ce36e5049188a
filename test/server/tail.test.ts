import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { encodeTailFrame } from '../../src/server/tail-routes.ts';
import { nowNs, pushJson, startTestServer, type TestServer } from './test-server.ts';

interface TailFrame {
  streams?: Array<{ stream: Record<string, string>; values: Array<[string, string]> }>;
  dropped_entries?: unknown[];
}

function openTail(url: string, query: string, headers: Record<string, string> = {}): Promise<{ socket: WebSocket; frames: TailFrame[]; next(timeoutMs: number): Promise<TailFrame> }> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query })}`, { headers });
  const frames: TailFrame[] = [];
  const waiters: Array<(frame: TailFrame) => void> = [];
  let consumed = 0;
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as TailFrame;
    frames.push(frame);
    const waiter = waiters.shift();
    if (waiter !== undefined) {
      consumed++;
      waiter(frame);
    }
  });
  // Frames that arrived before anyone asked are handed out first, in order.
  const next = (timeoutMs: number) =>
    new Promise<TailFrame>((resolve, reject) => {
      if (consumed < frames.length) {
        resolve(frames[consumed++]!);
        return;
      }
      const timer = setTimeout(() => reject(new Error(`no tail frame within ${timeoutMs} ms`)), timeoutMs);
      waiters.push((frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
    });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket, frames, next }));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => reject(new Error(`${response.statusCode} ${body}`)));
    });
    socket.once('error', reject);
  });
}

describe('live tail over WebSocket', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ auth_enabled: true });
  });
  after(async () => {
    await server.dispose();
  });

  test('a pushed entry reaches a tail subscriber within 1 s, filtered by the query, per tenant', async () => {
    const tenant = { 'X-Scope-OrgID': 'tail-a' };
    const tail = await openTail(server.url, '{job="live"} |= "NCCL"', tenant);
    try {
      // Give the initial history query a moment so its (empty) answer does not race the push.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const startedMs = performance.now();
      const arrived = tail.next(1000);
      const t = nowNs();
      await pushJson(server.url, [{ stream: { job: 'live' }, values: [[String(t), 'ok line'], [String(t + 1n), 'NCCL WARN timeout rank 3']] }], { 'X-Scope-OrgID': 'tail-b' });
      assert.equal((await pushJson(server.url, [{ stream: { job: 'live', rank: '3' }, values: [[String(t), 'loss 1.0'], [String(t + 1n), 'NCCL WARN timeout rank 3']] }], tenant)).status, 204);
      const frame = await arrived;
      const elapsedMs = performance.now() - startedMs;
      assert.ok(elapsedMs < 1000, `arrived after ${elapsedMs} ms`);
      assert.deepEqual(frame, { streams: [{ stream: { job: 'live', rank: '3' }, values: [[String(t + 1n), 'NCCL WARN timeout rank 3']] }] });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(tail.frames.length, 1, 'the other tenant and the non-matching line were not delivered');
    } finally {
      tail.socket.close();
    }
  });

  test('a new tail first gets recent history, then live entries', async () => {
    const tenant = { 'X-Scope-OrgID': 'tail-h' };
    const t = nowNs();
    assert.equal((await pushJson(server.url, [{ stream: { job: 'hist' }, values: [[String(t - 2n), 'old one'], [String(t - 1n), 'old two']] }], tenant)).status, 204);
    const tail = await openTail(server.url, '{job="hist"}', tenant);
    try {
      const history = await tail.next(2000);
      assert.deepEqual(history.streams?.[0]?.values.map((value) => value[1]), ['old one', 'old two']);
      const live = tail.next(1000);
      await pushJson(server.url, [{ stream: { job: 'hist' }, values: [[String(nowNs()), 'new one']] }], tenant);
      assert.deepEqual((await live).streams?.[0]?.values.map((value) => value[1]), ['new one']);
    } finally {
      tail.socket.close();
    }
  });

  test("a tenant's eleventh concurrent tail is refused with Loki's message; closing one frees a slot", async () => {
    const tenant = { 'X-Scope-OrgID': 'tail-many' };
    const tails: Array<Awaited<ReturnType<typeof openTail>>> = [];
    for (let i = 0; i < 10; i++) tails.push(await openTail(server.url, '{job="many"}', tenant));
    try {
      await assert.rejects(openTail(server.url, '{job="many"}', tenant), /^Error: 400 max concurrent tail requests limit exceeded, count > limit \(11 > 10\)$/);
      const other = await openTail(server.url, '{job="many"}', { 'X-Scope-OrgID': 'tail-other' });
      other.socket.close();
      const closed = new Promise((resolve) => tails[0]!.socket.once('close', resolve));
      tails[0]!.socket.close();
      await closed;
      const deadline = Date.now() + 2000;
      let reopened;
      while (reopened === undefined && Date.now() < deadline) {
        reopened = await openTail(server.url, '{job="many"}', tenant).catch(() => undefined);
        if (reopened === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(reopened !== undefined, 'a slot frees up when a tail closes');
      tails[0] = reopened;
    } finally {
      for (const tail of tails) tail.socket.close();
    }
  });

  test('bad tail requests are refused before the upgrade with a 4xx and a message', async () => {
    await assert.rejects(openTail(server.url, '{job="x"}'), /^Error: 401 no org id$/);
    await assert.rejects(openTail(server.url, '{job=', { 'X-Scope-OrgID': 'x' }), /^Error: 400 parse error/);
  });
});

test('tail frames follow Loki: streams and dropped_entries, each omitted when empty', () => {
  assert.deepEqual(JSON.parse(encodeTailFrame([{ labels: { a: 'b' }, line: 'x', timestampNs: 5n }])), { streams: [{ stream: { a: 'b' }, values: [['5', 'x']] }] });
  assert.deepEqual(JSON.parse(encodeTailFrame([], [{ labels: { a: 'b' }, timestampNs: 7n }])), { dropped_entries: [{ labels: { a: 'b' }, timestamp: '7' }] });
});
