// The training pack's GPU rules (rules/training-gpu.yaml) end to end: a real server with the real
// ruler and a real Alertmanager (Debian's prometheus-alertmanager). Three live runs push step lines
// (Loki push) and GPU utilization with run_id and rank (remote_write):
//   - deadlocked: both ranks stop logging while their GPUs stay at 100%  → GpuBusyWhileRankSilent;
//   - starved: both ranks log, rank 1's GPU idles at 3%                  → GpuIdleWhileRankRunning (rank 1 only);
//   - healthy: both ranks log on busy GPUs                               → nothing.
// The pack's `for:` are minutes; the test loads a copy with `for: 2s` and 1 s intervals from the
// PromQL rules directory (the same format and engine as the built-in namespace), and checks that the
// built-in namespace itself loads with `ruler.enable_training_rules` and passes `promtool check rules`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TRAINING_GPU_RULES_PATH } from '../../src/ruler/index.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { pollUntil } from '../support/peers.ts';
import { startTestServer } from '../server/test-server.ts';
import { rank, startLiveRuns, type LiveRuns } from '../training/live-gpu-runs.ts';
import { ALERTMANAGER_BIN, fastRouteConfig, startAlertmanager, type RunningAlertmanager } from './support/alertmanager-process.ts';
import { fastGpuPack } from './support/gpu-pack.ts';

const PROMTOOL = '/usr/bin/promtool';
const skip = existsSync(ALERTMANAGER_BIN) ? false : `${ALERTMANAGER_BIN} is not installed (apt-get install prometheus-alertmanager)`;
const DEADLOCKED = `deadlocked-${process.pid}`;
const STARVED = `starved-${process.pid}`;
const HEALTHY = `healthy-${process.pid}`;

let root: string;
let am: RunningAlertmanager | undefined;
let server: RunningServer | undefined;
let live: LiveRuns | undefined;

interface ServerAlert {
  state: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
}

before(async () => {
  if (skip !== false) return;
  root = mkdtempSync(join(tmpdir(), 'rankscope-gpu-pack-'));
  am = await startAlertmanager(fastRouteConfig(undefined));
  mkdirSync(join(root, 'prometheus-rules'));
  writeFileSync(join(root, 'prometheus-rules', 'gpu-fast.yaml'), fastGpuPack());
  server = await startServer({
    server: { listen: '127.0.0.1:0', log_level: 'error' },
    store: { data_dir: join(root, 'data') },
    ui: { enabled: false },
    training: { hang_floor: '2s', hang_interval_multiple: 5, check_interval: '200ms', finalize_after: '2s' },
    ruler: { enable_training_rules: true, prometheus_rules_dir: join(root, 'prometheus-rules'), alertmanager_url: [am.url], resend_delay: '1s', poll_interval: '1h' },
  });
  live = startLiveRuns(server.url, [
    { id: DEADLOCKED, ranks: [rank(0, 100, 8), rank(1, 100, 8)] },
    { id: STARVED, ranks: [rank(0, 97), rank(1, 3)] },
    { id: HEALTHY, ranks: [rank(0, 96), rank(1, 98)] },
  ]);
});

after(async () => {
  await live?.stop();
  await server?.close();
  await am?.stop();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

async function firing(): Promise<ServerAlert[]> {
  const body = (await (await fetch(`${server!.url}/prometheus/api/v1/alerts`)).json()) as { data: { alerts: ServerAlert[] } };
  return body.data.alerts.filter((alert) => alert.state === 'firing' && alert.labels.copy === 'fast');
}

test('promtool check rules accepts the GPU pack as shipped', { skip: existsSync(PROMTOOL) ? false : `${PROMTOOL} is not installed` }, () => {
  const result = spawnSync(PROMTOOL, ['check', 'rules', TRAINING_GPU_RULES_PATH], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /SUCCESS: 7 rules found/);
});

test('enable_training_rules loads the GPU rules as the read-only PromQL namespace training-gpu', { skip }, async () => {
  const body = (await (await fetch(`${server!.url}/prometheus/api/v1/rules`)).json()) as { data: { groups: Array<{ name: string; file: string; rules: Array<{ name: string; query: string }> }> } };
  const builtIn = body.data.groups.filter((group) => group.file === 'training-gpu');
  assert.deepEqual(builtIn.map((group) => group.name), ['training-gpu-faults', 'training-gpu-runs']);
  assert.deepEqual(
    builtIn.flatMap((group) => group.rules.map((rule) => rule.name)),
    ['GpuXidError', 'GpuEccDoubleBitErrors', 'GpuThermalThrottling', 'GpuPowerThrottling', 'GpuMemoryAtLimit', 'GpuIdleWhileRankRunning', 'GpuBusyWhileRankSilent'],
  );
  const edit = await fetch(`${server!.url}/loki/api/v1/rules/training-gpu`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: 'name: mine\nrules: []\n' });
  assert.equal(edit.status, 400);
  assert.match(await edit.text(), /built-in training pack/);
});

test('without a metrics store the GPU rules are not loaded (they could only fail); the LogQL pack is', async () => {
  const logsOnly = await startTestServer({ tsdb: { enabled: false }, ruler: { enabled: true, enable_training_rules: true, poll_interval: '1h' } });
  try {
    const body = (await (await fetch(`${logsOnly.url}/loki/api/v1/rules`)).text());
    assert.match(body, /^training:$/m);
    assert.doesNotMatch(body, /training-gpu/);
  } finally {
    await logsOnly.dispose();
  }
});

test('a hung run on busy GPUs fires GpuBusyWhileRankSilent, a logging rank on an idle GPU fires GpuIdleWhileRankRunning, a healthy run fires nothing', { skip }, async () => {
  const both = await pollUntil(
    'GpuBusyWhileRankSilent for both deadlocked ranks and GpuIdleWhileRankRunning for the starved rank',
    async () => {
      const alerts = await firing();
      const busy = alerts.filter((alert) => alert.labels.alertname === 'GpuBusyWhileRankSilent');
      const idle = alerts.filter((alert) => alert.labels.alertname === 'GpuIdleWhileRankRunning');
      return busy.length === 2 && idle.length === 1 ? { busy, idle, alerts } : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  assert.deepEqual(both.busy.map((alert) => [alert.labels.run_id, alert.labels.rank, alert.labels.gpu]).sort(), [
    [DEADLOCKED, '0', '0'],
    [DEADLOCKED, '1', '1'],
  ]);
  const busy0 = both.busy.find((alert) => alert.labels.rank === '0')!;
  assert.equal(busy0.labels.severity, 'critical');
  assert.equal(busy0.annotations.summary, `Rank 0 of run ${DEADLOCKED} is silent while its GPU 0 on gpu-node-0 reads 100% busy: NCCL deadlock signature`);
  assert.deepEqual([both.idle[0]!.labels.run_id, both.idle[0]!.labels.rank], [STARVED, '1']);
  assert.equal(both.idle[0]!.annotations.summary, `Rank 1 of run ${STARVED} logs, but its GPU 1 on gpu-node-0 has been idle for 5 minutes`);
  // Nothing else fired: not the healthy run, not the starved run's busy rank, not the other GPU rules.
  assert.deepEqual(both.alerts.filter((alert) => !['GpuBusyWhileRankSilent', 'GpuIdleWhileRankRunning'].includes(alert.labels.alertname!) || alert.labels.run_id === HEALTHY), []);

  // The same alerts reach the real Alertmanager.
  const received = await pollUntil(
    'both alerts in Alertmanager',
    async () => {
      const alerts = (await (await fetch(`${am!.url}/api/v2/alerts`)).json()) as AmAlert[];
      const ours = alerts.filter((alert) => alert.status.state === 'active' && alert.labels.copy === 'fast');
      return ours.length === 3 ? ours : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 250 },
  );
  assert.deepEqual(received.map((alert) => `${alert.labels.alertname} ${alert.labels.run_id} ${alert.labels.rank}`).sort(), [
    `GpuBusyWhileRankSilent ${DEADLOCKED} 0`,
    `GpuBusyWhileRankSilent ${DEADLOCKED} 1`,
    `GpuIdleWhileRankRunning ${STARVED} 1`,
  ]);
  assert.match(received.find((alert) => alert.labels.alertname === 'GpuBusyWhileRankSilent')!.annotations.description!, /deadlocked in NCCL/);
});
