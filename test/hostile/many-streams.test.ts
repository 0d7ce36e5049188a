// 100k streams from one tenant (issue 10: they cost 755 MB, about 7.5 KB each, and a SIGTERM with
// 100k heads overran the 30 s shutdown timeout). A real server process with the per-tenant stream
// limit above 100k takes them in pushes of 1,000 streams of one line each; its peak RSS stays under a
// bound, queries answer, a SIGTERM flush finishes within the shutdown timeout, and every stream is
// readable after a restart.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startServerProcess, type ServerProcess } from '../cli/server-process.ts';

const STREAMS = 100_000;
const STREAMS_PER_PUSH = 1_000;
const PUSHES_IN_FLIGHT = 4;
const SHUTDOWN_TIMEOUT_MS = 30_000;
/**
 * Peak RSS allowed for the whole server (an idle one is ~120 MB, V8 and the code): under 1 KB per
 * stream in the store (bench/store-streams-bench.ts) plus the limiter, the decoder and the pushes in
 * flight, with room for a loaded machine (284 MB measured at load ~25; 355 MB before the store's
 * per-stream structures were slimmed; issue 10 measured 755 MB).
 */
const PEAK_RSS_BOUND_BYTES = 400 * 1024 * 1024;

const root = mkdtempSync(join(tmpdir(), 'rankscope-hostile-streams-'));
const configPath = join(root, 'rankscope.yaml');
writeFileSync(
  configPath,
  [
    'server:',
    `  shutdown_timeout: ${SHUTDOWN_TIMEOUT_MS / 1000}s`,
    'limits:',
    `  max_global_streams_per_user: ${STREAMS + 50_000}`,
    '  ingestion_rate_mb: 1000',
    '  ingestion_burst_size_mb: 1000',
    '',
  ].join('\n'),
);
const serverArgs = ['--data-dir', join(root, 'data'), '--config', configPath];
let server: ServerProcess | undefined;

after(async () => {
  if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
    server.kill('SIGKILL');
    await server.exited;
  }
  rmSync(root, { recursive: true, force: true });
});

function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  assert.ok(kilobytes !== null, 'VmHWM in /proc/<pid>/status');
  return Number(kilobytes[1]) * 1024;
}

function lineOf(stream: number): string {
  return `rank ${stream % 8} step 1 loss 2.${stream} stream ${stream}`;
}

async function pushStreams(url: string, first: number, baseNs: bigint): Promise<void> {
  const streams = [];
  for (let stream = first; stream < first + STREAMS_PER_PUSH; stream++) {
    streams.push({ stream: { job: 'many', namespace: 'hostile', pod: `trainer-${stream}` }, values: [[String(baseNs + BigInt(stream)), lineOf(stream)]] });
  }
  const response = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ streams }), signal: AbortSignal.timeout(120_000) });
  assert.equal(response.status, 204, `push of streams ${first}..${first + STREAMS_PER_PUSH - 1}: ${await response.text()}`);
}

async function queryLines(url: string, query: string, startNs: bigint): Promise<string[]> {
  const params = new URLSearchParams({ query, start: String(startNs), end: String(startNs + BigInt(STREAMS) + 1_000_000_000n), limit: '100' });
  const response = await fetch(`${url}/loki/api/v1/query_range?${params}`, { signal: AbortSignal.timeout(60_000) });
  const body = (await response.json()) as { data: { result: Array<{ values: Array<[string, string]> }> } };
  assert.equal(response.status, 200, JSON.stringify(body).slice(0, 300));
  return body.data.result.flatMap((stream) => stream.values.map(([, line]) => line));
}

test(`${STREAMS} streams: bounded RSS, queries answer, SIGTERM flush within the shutdown timeout, all readable after a restart`, { timeout: 600_000 }, async (t) => {
  server = await startServerProcess(serverArgs, 60_000);
  const pid = server.child.pid!;
  const baseNs = BigInt(Date.now() - 600_000) * 1_000_000n;
  let next = 0;
  const pusher = async (): Promise<void> => {
    // Bounded: each pass takes the next block of streams.
    while (next < STREAMS) {
      const first = next;
      next += STREAMS_PER_PUSH;
      await pushStreams(server!.url, first, baseNs);
    }
  };
  await Promise.all(Array.from({ length: PUSHES_IN_FLIGHT }, pusher));

  const peak = peakRssBytes(pid);
  assert.ok(peak <= PEAK_RSS_BOUND_BYTES, `peak RSS ${Math.round(peak / 1048576)} MB with ${STREAMS} streams, bound ${PEAK_RSS_BOUND_BYTES / 1048576} MB`);

  const probes = [0, 4_242, STREAMS - 1];
  for (const stream of probes) assert.deepEqual(await queryLines(server.url, `{job="many", pod="trainer-${stream}"}`, baseNs), [lineOf(stream)]);
  const seriesResponse = await fetch(`${server.url}/loki/api/v1/series?${new URLSearchParams({ 'match[]': '{pod=~"trainer-9999.?"}', start: String(baseNs), end: String(baseNs + 2n * BigInt(STREAMS)) })}`);
  assert.equal(((await seriesResponse.json()) as { data: unknown[] }).data.length, 11);

  // SIGTERM: every head (one per stream) is cut into parts before the process exits.
  const stoppingAt = performance.now();
  server.kill('SIGTERM');
  const exitCode = await server.exited;
  const stopMs = performance.now() - stoppingAt;
  assert.equal(exitCode, 0, `exit code after SIGTERM; stderr:\n${server.stderr().slice(-2000)}`);
  t.diagnostic(`peak RSS ${Math.round(peak / 1048576)} MB for ${STREAMS} streams; SIGTERM to exit ${Math.round(stopMs)} ms`);
  assert.ok(stopMs < SHUTDOWN_TIMEOUT_MS, `SIGTERM took ${Math.round(stopMs)} ms, shutdown timeout ${SHUTDOWN_TIMEOUT_MS} ms`);

  // Restarted on the same directory: the streams come from parts now (the WAL was truncated by the flush).
  server = await startServerProcess(serverArgs, 120_000);
  for (const stream of probes) assert.deepEqual(await queryLines(server.url, `{job="many", pod="trainer-${stream}"}`, baseNs), [lineOf(stream)]);
  server.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});
