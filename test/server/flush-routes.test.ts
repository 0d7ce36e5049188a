// POST /flush: every head is cut into durable parts and the WAL truncated before the 204, so a
// kill -9 right after it loses nothing and leaves nothing to replay.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess } from '../cli/server-process.ts';

const STREAMS = 4;
const LINES_PER_STREAM = 500;

function walBytes(dataDir: string): number {
  const dir = join(dataDir, 'wal');
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

test('POST /flush answers 204 with an empty WAL, and every line survives a kill -9 after it', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-flush-'));
  const baseNs = BigInt(Date.now() - 600_000) * 1_000_000n;
  try {
    const first = await startServerProcess(['--data-dir', dataDir]);
    const expected: string[] = [];
    for (let s = 0; s < STREAMS; s++) {
      const values = Array.from({ length: LINES_PER_STREAM }, (_, i) => [String(baseNs + BigInt(i * 1000 + s)), `stream ${s} line ${i}`]);
      for (const [, line] of values) expected.push(line!);
      const response = await fetch(`${first.url}/loki/api/v1/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ streams: [{ stream: { job: 'flush', stream: String(s) }, values }] }),
      });
      assert.equal(response.status, 204, await response.text());
    }
    assert.ok(walBytes(dataDir) > 0, 'the pushes are in the WAL before the flush');
    const flushed = await fetch(`${first.url}/flush`, { method: 'POST' });
    assert.equal(flushed.status, 204, await flushed.text());
    assert.equal(walBytes(dataDir), 0, 'the WAL is empty after /flush');
    const metrics = await (await fetch(`${first.url}/metrics`)).text();
    assert.match(metrics, /^rankscope_head_bytes 0$/m);
    first.kill('SIGKILL');
    await first.exited;

    const second = await startServerProcess(['--data-dir', dataDir]);
    try {
      const params = new URLSearchParams({ query: '{job="flush"}', start: String(baseNs - 1_000_000_000n), end: String(baseNs + 60_000_000_000n), limit: '5000' });
      const response = await fetch(`${second.url}/loki/api/v1/query_range?${params}`);
      assert.equal(response.status, 200, await response.clone().text());
      const body = (await response.json()) as { data: { result: Array<{ values: Array<[string, string]> }> } };
      const lines = body.data.result.flatMap((stream) => stream.values.map(([, line]) => line));
      assert.deepEqual(lines.sort(), expected.sort());
    } finally {
      second.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
