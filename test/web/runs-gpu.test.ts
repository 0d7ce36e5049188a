// The run page's GPU strip and GPU verdict in real Chromium against a real server. Two runs arrive
// as the agent and `rankscope run` would send them (step lines by the push API; DCGM_FI_DEV_GPU_UTIL
// with run_id and rank by remote_write), eight minutes of history and then live:
//   - llm-deadlock: 4 ranks train, rank 2 stops, the others stop at the next all-reduce, and every
//     GPU stays at 100%: the page says hung, shows dark activity over bright GPU rows, and names the
//     NCCL-deadlock signature with each rank's evidence;
//   - llm-starved: 2 ranks keep logging, rank 1's GPU idles at 3%: the page names the idle GPU.
// Screenshots go to test-artifacts/web/runs-gpu-*.png.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../../src/push/remote-write-encode.ts';
import { pushJson, startTestServer, waitFor, type TestServer } from '../server/test-server.ts';
import { rank, startLiveRuns, stepLine, type LiveRuns } from '../training/live-gpu-runs.ts';
import { launchChromium, type Chromium } from './chromium.ts';
import { buildWebUi, REPO_ROOT } from './server-process.ts';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'web');
const DEADLOCK = 'llm-deadlock';
const STARVED = 'llm-starved';
const HISTORY_MS = 8 * 60_000;

let server: TestServer;
let browser: Chromium;
let page: Page;
let live: LiveRuns | undefined;

/** Labels as the live feed (test/training/live-gpu-runs.ts) writes them, so history and live are one series. */
function gpuLabels(run: string, rankNumber: number): Record<string, string> {
  const host = `gpu-node-${Math.floor(rankNumber / 8)}`;
  return { __name__: 'DCGM_FI_DEV_GPU_UTIL', run_id: run, rank: String(rankNumber), host, gpu: String(rankNumber % 8), uuid: `GPU-${run}-${rankNumber}`, Hostname: host };
}

async function remoteWrite(series: RemoteWriteSeriesInput[]): Promise<void> {
  const response = await fetch(`${server.url}/api/v1/write`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    body: snappyCompress(encodeWriteRequestV1(series)),
  });
  assert.equal(response.status, 204, await response.text());
}

/** History of one run: a step line every 2 s per rank until it stops, a GPU sample every second up to now. */
async function seedHistory(run: string, ranks: Array<{ rank: number; stopsAtMs: number; percent: (timeMs: number, logging: boolean) => number }>, nowMs: number): Promise<void> {
  const startMs = nowMs - HISTORY_MS;
  const streams = ranks.map((one) => {
    const values: Array<[string, string]> = [];
    let step = 0;
    for (let t = startMs + one.rank * 7; t < one.stopsAtMs; t += 2000) {
      step++;
      values.push([String(BigInt(t) * 1_000_000n), stepLine(step)]);
    }
    return { stream: { run_id: run, rank: String(one.rank), host: `gpu-node-${Math.floor(one.rank / 8)}` }, values };
  });
  const pushed = await pushJson(server.url, streams);
  assert.equal(pushed.status, 204, await pushed.text());
  await remoteWrite(
    ranks.map((one) => {
      const samples = [];
      for (let t = startMs; t <= nowMs; t += 1000) samples.push({ timestampMs: t, value: one.percent(t, t < one.stopsAtMs) });
      return { labels: gpuLabels(run, one.rank), samples };
    }),
  );
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  buildWebUi();
  server = await startTestServer({ ui: { enabled: true }, training: { hang_floor: '2s', hang_interval_multiple: 5, check_interval: '200ms', finalize_after: '2s' } });
  const nowMs = Date.now();
  // Training reads 91–99% with the data loader's gaps; a collective that waits spins at 100%.
  const training = (timeMs: number) => 91 + (Math.floor(timeMs / 1000) * 7) % 9;
  const rank2StopsMs = nowMs - 100_000;
  await seedHistory(
    DEADLOCK,
    [0, 1, 2, 3].map((rankNumber) => ({ rank: rankNumber, stopsAtMs: rankNumber === 2 ? rank2StopsMs : rank2StopsMs + 3000, percent: (t, logging) => (logging ? training(t) : 100) })),
    nowMs,
  );
  await seedHistory(
    STARVED,
    [0, 1].map((rankNumber) => ({ rank: rankNumber, stopsAtMs: nowMs, percent: (t) => (rankNumber === 1 ? 2 + (Math.floor(t / 1000) % 3) : training(t)) })),
    nowMs,
  );
  // From now on: the deadlocked GPUs keep spinning (no lines), the starved run keeps training.
  live = startLiveRuns(
    server.url,
    [
      { id: DEADLOCK, ranks: [0, 1, 2, 3].map((rankNumber) => rank(rankNumber, 100, 0)) },
      { id: STARVED, ranks: [rank(0, 95), rank(1, 3)] },
    ],
    500,
    HISTORY_MS / 2000 + 1,
  );
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on('pageerror', (error) => {
    throw new Error(`page error: ${error.message}`);
  });
});

after(async () => {
  await live?.stop();
  await browser?.close();
  await server?.dispose();
});

test('a run deadlocked in NCCL: hung, dark activity over bright GPU rows, and the page names the signature with each rank\'s evidence', async () => {
  // The tracker's verdict first (the run is final 2 s after its last arrival).
  await waitFor(async () => {
    const run = (await (await fetch(`${server.url}/api/v1/runs/${DEADLOCK}`)).json()) as { status?: string };
    return run.status === 'hung' ? true : undefined;
  }, 20_000, 'the deadlocked run to be hung');
  await page.goto(`${server.url}/?view=runs&run=${DEADLOCK}`);
  const verdict = page.getByTestId('gpu-verdict');
  await verdict.waitFor({ timeout: 20_000 });
  assert.equal(await verdict.getAttribute('data-kind'), 'nccl_deadlock');
  assert.match((await verdict.textContent()) ?? '', /NCCL deadlock signature.*The run is hung, yet the GPUs of ranks 0, 1, 2, 3 read 100% busy since they went silent/);
  assert.deepEqual(await verdict.getByTestId('gpu-finding').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-rank'))), ['0', '1', '2', '3']);
  await page.getByTestId('hung-ranks').waitFor();

  const activity = page.getByTestId('activity-strip');
  await activity.locator('canvas').waitFor();
  assert.equal(await activity.getAttribute('data-ranks'), '4');
  const gpuStrip = page.getByTestId('gpu-strip');
  await gpuStrip.locator('canvas').waitFor();
  assert.equal(await gpuStrip.getAttribute('data-rows'), '4', 'one GPU row per rank');
  assert.ok(Number(await gpuStrip.getAttribute('data-busy-cells')) > 100, 'busy GPU cells along the run and after the silence');
  assert.equal(await gpuStrip.getAttribute('data-idle-cells'), '0');
  // The two strips share their time columns: same left edge and width.
  const [activityBox, gpuBox] = [await activity.locator('canvas').boundingBox(), await gpuStrip.locator('canvas').boundingBox()];
  assert.deepEqual([activityBox!.x, activityBox!.width], [gpuBox!.x, gpuBox!.width]);
  await page.screenshot({ path: join(ARTIFACTS, 'runs-gpu-1-deadlock.png'), fullPage: true });
});

test('a rank that logs on an idle GPU: the strip shows its dark row and the page names the idle GPU', async () => {
  await page.goto(`${server.url}/?view=runs&run=${STARVED}`);
  const verdict = page.getByTestId('gpu-verdict');
  await verdict.waitFor({ timeout: 20_000 });
  assert.equal(await verdict.getAttribute('data-kind'), 'idle_gpu');
  assert.match((await verdict.textContent()) ?? '', /rank 1 keeps logging while its GPU has been under 10% for 2 minutes/);
  assert.deepEqual(await verdict.getByTestId('gpu-finding').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-rank'))), ['1']);
  const gpuStrip = page.getByTestId('gpu-strip');
  await gpuStrip.locator('canvas').waitFor();
  assert.equal(await gpuStrip.getAttribute('data-rows'), '2');
  assert.ok(Number(await gpuStrip.getAttribute('data-idle-cells')) > 50, 'rank 1\'s idle row');
  assert.equal(await page.getByTestId('run-status').textContent(), 'running');
  await page.screenshot({ path: join(ARTIFACTS, 'runs-gpu-2-idle.png'), fullPage: true });
});
