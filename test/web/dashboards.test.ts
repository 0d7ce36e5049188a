// Dashboards in real Chromium against a real `rankscope server` fed half an hour of cluster metrics
// (remote_write) and logs (push): a Grafana dashboard imported by pasting its JSON (its pie chart and
// text panels show as unsupported), exported again, and each built-in (Training run, Inference,
// Cluster) drawn with data. Screenshots go to test-artifacts/web/dashboards-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { launchChromium, type Chromium } from './chromium.ts';
import { buildWebUi, REPO_ROOT, startRankscope, type RankscopeServer } from './server-process.ts';
import { clusterLogs, clusterMetrics, IDLE_RANK, remoteWrite, TRAINING_RUN } from './dashboards-data.ts';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'web');
const FIXTURE = readFileSync(join(REPO_ROOT, 'test', 'dashboards', 'fixtures', 'grafana-gpu-nodes.json'), 'utf8');
const WAIT_MS = 20_000;

let server: RankscopeServer;
let browser: Chromium;
let page: Page;
const pageErrors: string[] = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  buildWebUi();
  server = await startRankscope();
  const endMs = Math.floor(Date.now() / 1000) * 1000 - 5000;
  await remoteWrite(server.url, clusterMetrics(endMs));
  await server.push(clusterLogs(endMs));
  browser = await launchChromium();
  page = await browser.context.newPage();
  await page.setViewportSize({ width: 1600, height: 1000 });
  page.on('pageerror', (error) => pageErrors.push(error.message));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
});

function panel(title: string): Locator {
  return page.locator(`[data-testid="dash-panel"][data-panel-title="${title}"]`);
}

/** Every data panel has drawn something, said "No data", or shown its error: nothing is still loading. */
async function waitForPanels(): Promise<void> {
  await page.waitForFunction(
    `(() => {
      const panels = [...document.querySelectorAll('[data-testid="dash-panel"]')];
      return panels.length > 0 && panels.every((panel) => !panel.textContent.includes('Loading…'));
    })()`,
    null,
    { timeout: WAIT_MS },
  );
}

async function noDataPanels(): Promise<string[]> {
  return page.locator('[data-testid="dash-panel"]').evaluateAll((panels) =>
    panels.filter((element) => /No data|No log lines/.test(element.textContent ?? '') || element.querySelector('[data-testid="panel-error"]') !== null).map((element) => `${element.getAttribute('data-panel-title')}: ${element.textContent?.slice(0, 200)}`),
  );
}

/** The whole dashboard: the viewport grows to the page's scroll height for the shot, then returns. */
async function screenshot(name: string): Promise<void> {
  const heightPx = (await page.evaluate(`(() => {
    const scroller = document.querySelector('.dashboard-page, .dashboard-list, .dashboard-import');
    return scroller ? scroller.scrollHeight + scroller.getBoundingClientRect().top : 1000;
  })()`)) as number;
  await page.setViewportSize({ width: 1600, height: Math.max(1000, Math.ceil(heightPx)) });
  await page.screenshot({ path: join(ARTIFACTS, `dashboards-${name}.png`) });
  await page.setViewportSize({ width: 1600, height: 1000 });
}

test('import a Grafana dashboard by pasting its JSON: supported panels draw, others say unsupported', async () => {
  await page.goto(`${server.url}/`);
  await page.getByTestId('nav-dashboards').click();
  await page.getByTestId('dashboard-list').waitFor();
  assert.deepEqual(await page.getByTestId('dashboard-entry').locator('a').allTextContents(), ['Cluster', 'Inference (vLLM)', 'Training run']);
  await page.getByTestId('dashboard-import-button').click();
  await page.getByTestId('dashboard-import-text').fill('{"title": "x", "panels": [{"type": "stat", "gridPos": {"w": 40}}]}');
  await page.getByTestId('dashboard-import-submit').click();
  assert.match((await page.getByTestId('dashboard-import-error').textContent()) ?? '', /panels\[0\]\.gridPos\.w: expected a whole number from 1 to 24, got 40/);
  await page.getByTestId('dashboard-import-text').fill(FIXTURE);
  await screenshot('01-import');
  await page.getByTestId('dashboard-import-submit').click();
  await page.getByTestId('dashboard-page').waitFor();
  assert.equal(await page.getByTestId('dashboard-title').textContent(), 'GPU nodes');
  assert.equal(new URL(page.url()).searchParams.get('uid'), 'gpu-nodes-7f3a');
  await waitForPanels();

  const unsupported = page.getByTestId('unsupported-panel');
  assert.deepEqual(await unsupported.allTextContents().then((texts) => texts.map((text) => text.replace(/kept in.*/, ''))), ['unsupported panel type piechart']);
  // The collapsed row opens with its table, heatmap and text panel.
  await page.getByTestId('dash-row').filter({ hasText: 'Errors and latency' }).click();
  await waitForPanels();
  assert.deepEqual(await unsupported.allTextContents().then((texts) => texts.map((text) => text.replace(/kept in.*/, ''))), ['unsupported panel type piechart', 'unsupported panel type text']);
  await panel('GPU utilization').locator('canvas').first().waitFor();
  assert.equal(await panel('GPU utilization').locator('.ts-legend-item').count(), 16, 'one line per GPU');
  await panel('Power draw (old graph panel)').locator('canvas').first().waitFor();
  assert.match((await panel('Hottest GPU').textContent()) ?? '', /°C/);
  assert.ok(Number(await panel('Request latency').getByTestId('heatmap').getAttribute('data-max-count')) > 0, 'the heatmap has observations');
  assert.ok((await panel('XID errors').locator('tbody tr').count()) >= 1);
  assert.deepEqual(await page.getByTestId('var-log_host').locator('option').allTextContents(), ['All', 'node-1'], 'a Loki label_values variable');
  assert.match((await panel('Kernel XID lines').getByTestId('logs-panel-row').first().textContent()) ?? '', /Xid .*79/);
  assert.match((await panel('Kernel XID lines').getByTestId('panel-problem').textContent()) ?? '', /data source type "influxdb" is not supported/);
  assert.deepEqual(await noDataPanels(), []);
  await screenshot('02-imported');

  const downloading = page.waitForEvent('download');
  await page.getByTestId('dashboard-export').click();
  const download = await downloading;
  assert.equal(download.suggestedFilename(), 'gpu-nodes.json');
  const exported = JSON.parse(readFileSync((await download.path())!, 'utf8')) as Record<string, unknown>;
  const original = JSON.parse(FIXTURE) as Record<string, unknown>;
  assert.deepEqual({ ...exported, id: original.id, version: original.version }, original, 'the export is the imported JSON, unknown fields included');
});

test('import by uploading the file Grafana exported; the same uid again is refused until replace is ticked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-dashboard-upload-'));
  try {
    const file = join(dir, 'gpu-nodes-copy.json');
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(FIXTURE) as Record<string, unknown>), uid: 'gpu-nodes-copy', title: 'GPU nodes (copy)' }));
    await page.goto(`${server.url}/?view=dashboards&import=1`);
    await page.getByTestId('dashboard-import-file').setInputFiles(file);
    await page.waitForFunction(`document.querySelector('[data-testid="dashboard-import-text"]').value.includes('gpu-nodes-copy')`, null, { timeout: WAIT_MS });
    await page.getByTestId('dashboard-import-submit').click();
    await page.getByTestId('dashboard-title').getByText('GPU nodes (copy)').waitFor();

    await page.goto(`${server.url}/?view=dashboards&import=1`);
    await page.getByTestId('dashboard-import-file').setInputFiles(file);
    await page.waitForFunction(`document.querySelector('[data-testid="dashboard-import-text"]').value.length > 0`, null, { timeout: WAIT_MS });
    await page.getByTestId('dashboard-import-submit').click();
    assert.match((await page.getByTestId('dashboard-import-error').textContent()) ?? '', /a dashboard with uid "gpu-nodes-copy" exists already/);
    await page.getByLabel('Replace a dashboard with the same uid').check();
    await page.getByTestId('dashboard-import-submit').click();
    await page.getByTestId('dashboard-page').waitFor();
    await page.goto(`${server.url}/?view=dashboards`);
    await page.getByTestId('dashboard-entry').filter({ hasText: 'GPU nodes (copy)' }).getByText('v2,', { exact: false }).waitFor();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Training run: every rank’s GPU beside the loss from the logs; the idle rank stands out', async () => {
  await page.goto(`${server.url}/?view=dashboards&uid=rankscope-training-run`);
  await page.getByTestId('dashboard-page').waitFor();
  await waitForPanels();
  assert.equal(await page.getByTestId('var-run_id').inputValue(), TRAINING_RUN, 'the newest-sorting run is picked');
  const bars = panel('GPU utilization by rank, last 2 minutes').getByTestId('bargauge-row');
  assert.equal(await bars.count(), 8);
  const idleBar = bars.filter({ hasText: `rank ${IDLE_RANK}` });
  assert.equal(await idleBar.locator('.bargauge-fill').evaluate((element) => (element as unknown as { style: { background: string } }).style.background), 'rgb(242, 73, 92)', 'the idle rank is red');
  assert.equal(await bars.filter({ hasText: 'rank 0' }).locator('.bargauge-fill').evaluate((element) => (element as unknown as { style: { background: string } }).style.background), 'rgb(115, 191, 105)');
  assert.equal((await panel('Idle ranks').getByTestId('stat-values').textContent())?.trim(), '1');
  assert.equal(await panel('Loss per rank').locator('.ts-legend-item').count(), 8, 'a loss curve per rank, read from the logs');
  assert.equal(await panel('SM activity per rank').locator('.ts-legend-item').count(), 8);
  assert.equal(await panel('InfiniBand throughput per host').locator('.ts-legend-item').count(), 2);
  assert.match((await panel('Error lines').textContent()) ?? '', /NCCL communicator was aborted on rank 5/);
  assert.deepEqual(await noDataPanels(), []);
  await screenshot('03-training-run');

  // Hovering a chart lists every rank's value at that time, highest first: the idle rank comes last.
  const over = panel('GPU utilization per rank').locator('.u-over');
  const box = (await over.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.95, box.y + box.height / 2);
  const tooltip = panel('GPU utilization per rank').getByTestId('panel-tooltip');
  await tooltip.waitFor();
  const tooltipRows = await tooltip.locator('.ts-tooltip-row').allTextContents();
  assert.equal(tooltipRows.length, 8);
  assert.match(tooltipRows[7]!, new RegExp(`^rank ${IDLE_RANK}\\d%$`));
  await page.screenshot({ path: join(ARTIFACTS, 'dashboards-03b-tooltip.png'), clip: { x: box.x - 80, y: box.y - 40, width: box.width + 100, height: box.height + 80 } });
  await page.mouse.move(0, 0);

  // Narrow to two ranks: the URL carries the choice and the panels follow.
  await page.getByTestId('var-rank').click();
  await page.getByTestId('var-menu-rank').getByLabel('0', { exact: true }).check();
  await page.getByTestId('var-menu-rank').getByLabel(String(IDLE_RANK), { exact: true }).check();
  await page.getByTestId('dashboard-title').click();
  await page.waitForFunction(`document.querySelectorAll('[data-panel-title="GPU utilization by rank, last 2 minutes"] [data-testid="bargauge-row"]').length === 2`, null, { timeout: WAIT_MS });
  assert.deepEqual(new URL(page.url()).searchParams.getAll('var-rank'), ['0', String(IDLE_RANK)]);
  await page.getByTestId('var-rank').click();
  await page.getByTestId('var-menu-rank').getByLabel('All', { exact: true }).check();
  await page.getByTestId('dashboard-title').click();
});

test('Inference (vLLM): latency quantiles, load, KV cache, tokens, finish reasons and server logs', async () => {
  await page.goto(`${server.url}/?view=dashboards&uid=rankscope-inference&from=now-30m&to=now`);
  await page.getByTestId('dashboard-page').waitFor();
  await waitForPanels();
  for (const title of ['Time to first token', 'Inter-token latency', 'End-to-end request latency']) {
    assert.deepEqual(await panel(title).locator('.ts-legend-item').allTextContents(), ['p50', 'p90', 'p99'], title);
  }
  const heatmap = panel('Time to first token, distribution').getByTestId('heatmap');
  assert.ok(Number(await heatmap.getAttribute('data-buckets')) >= 5, 'the buckets with observations, and one empty each side');
  assert.ok(Number(await heatmap.getAttribute('data-max-count')) > 0);
  assert.match((await panel('KV-cache usage').first().textContent()) ?? '', /\d+%/);
  assert.deepEqual((await panel('Finish reasons, last hour').locator('.bargauge-name').allTextContents()).sort(), ['abort', 'length', 'stop']);
  assert.deepEqual(await panel('Requests running and waiting (stacked)').locator('.ts-legend-item').allTextContents(), ['running', 'waiting']);
  assert.deepEqual(await panel('Tokens per second').locator('.ts-legend-item').allTextContents(), ['prompt', 'generation']);
  assert.match((await panel('Server logs').textContent()) ?? '', /Avg prompt throughput/);
  assert.deepEqual(await noDataPanels(), []);
  await screenshot('04-inference');
});

test('Cluster: nodes, GPUs, busy and idle GPUs by run, XID errors and throttling by host', async () => {
  await page.goto(`${server.url}/?view=dashboards&uid=rankscope-cluster`);
  await page.getByTestId('dashboard-page').waitFor();
  await waitForPanels();
  const stat = async (title: string) => (await panel(title).getByTestId('stat-values').textContent())?.trim();
  assert.deepEqual([await stat('Nodes'), await stat('GPUs'), await stat('Busy GPUs'), await stat('Idle GPUs'), await stat('GPUs in no run'), await stat('GPUs with XID errors')], ['4', '16', '11', '5', '4', '1']);
  const busy = panel('Busy GPUs by run').getByTestId('bargauge-row');
  assert.deepEqual((await busy.allTextContents()).sort(), ['run-bert-ft4', 'run-llama-7b7']);
  assert.deepEqual(await panel('Idle GPUs by run').getByTestId('bargauge-row').allTextContents(), ['run-llama-7b1']);
  assert.equal(await panel('Every GPU, its run and rank').locator('tbody tr').count(), 16);
  assert.deepEqual(await panel('Throttled GPUs by host and reason').locator('.ts-legend-item').allTextContents(), ['node-1 hw_thermal_slowdown']);
  assert.deepEqual(await panel('GPUs with XID errors by host').locator('.ts-legend-item').allTextContents(), ['node-1']);
  assert.deepEqual(await noDataPanels(), []);
  await screenshot('05-cluster');
  // Auto refresh: a GPU that starts reporting shows up without a reload.
  await page.getByTestId('auto-refresh').selectOption('5s');
  assert.equal(new URL(page.url()).searchParams.get('refresh'), '5s');
  await remoteWrite(server.url, [{ labels: { __name__: 'DCGM_FI_DEV_GPU_UTIL', job: 'rankscope-agent', host: 'node-4', gpu: '0' }, samples: [{ timestampMs: Date.now(), value: 0 }] }]);
  await page.waitForFunction(`document.querySelector('[data-panel-title="GPUs"] [data-testid="stat-values"]').textContent.trim() === '17'`, null, { timeout: WAIT_MS });
});
