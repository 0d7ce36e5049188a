// Alert state survives a restart: a pending alert keeps its activeAt (so a long `for` does not start
// over), and a firing alert whose condition cleared while rankscope was down is resolved and the
// resolution sent, instead of being forgotten.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueryParams, QueryResult } from '../../src/logql/api.ts';
import { defaultRulerConfig, startRuler, type Ruler } from '../../src/ruler/index.ts';
import { startListener } from './support/http-listener.ts';
import { until } from '../support/until.ts';

const stats = { bytesProcessed: 0, linesProcessed: 0, blocksRead: 0, blocksSkipped: 0, execTimeSeconds: 0 };
const root = mkdtempSync(join(tmpdir(), 'rankscope-restore-'));
after(() => rmSync(root, { recursive: true, force: true }));
const quiet = { info() {}, warn() {}, error() {} };

class ScriptedEngine {
  firing = true;
  async query(params: QueryParams): Promise<QueryResult> {
    const timestampMs = Number(params.endNs / 1_000_000n);
    return { resultType: 'vector', samples: this.firing || params.query.includes('Slow') ? [{ labels: { rank: '2' }, value: 1, timestampMs }] : [], stats };
  }
}

type AlertJson = { labels: Record<string, string>; state: string; activeAt: string };
const alertsOf = (ruler: Ruler): AlertJson[] => ruler.prometheusAlerts('fake').alerts as AlertJson[];

test('pending and firing alerts are restored after a restart', async () => {
  const rulesDir = join(root, 'rules');
  mkdirSync(rulesDir);
  writeFileSync(
    join(rulesDir, 'r.yaml'),
    'groups:\n  - name: g\n    interval: 100ms\n    rules:\n' +
      '      - alert: SlowBurn\n        expr: sum(count_over_time({job="Slow"}[1m])) > 0\n        for: 1h\n' +
      '      - alert: Fast\n        expr: sum(count_over_time({job="x"}[1m])) > 0\n',
  );
  const listener = await startListener();
  const config = defaultRulerConfig({ rules_dir: rulesDir, poll_interval: '1h', webhook: [{ url: `${listener.url}/hook`, group_wait: '10ms', group_interval: '100ms' }] });
  const dataDir = join(root, 'data');
  const engine = new ScriptedEngine();
  let ruler = startRuler({ engine, config, dataDir, logger: quiet });
  let activeAt: string;
  try {
    await until('both alerts', () => (alertsOf(ruler).length === 2 && alertsOf(ruler).some((a) => a.state === 'firing') ? true : undefined));
    activeAt = alertsOf(ruler).find((a) => a.labels.alertname === 'SlowBurn')!.activeAt;
    await listener.waitFor((r) => (r.body as { status: string }).status === 'firing', 5000);
  } finally {
    await ruler.stop();
  }

  // Down for a while; meanwhile the Fast alert's condition cleared.
  await new Promise((resolve) => setTimeout(resolve, 300));
  engine.firing = false;
  ruler = startRuler({ engine, config, dataDir, logger: quiet });
  try {
    const slow = await until('SlowBurn restored', () => alertsOf(ruler).find((a) => a.labels.alertname === 'SlowBurn'));
    assert.equal(slow.state, 'pending');
    assert.equal(slow.activeAt, activeAt, 'the `for` clock continues from before the restart');
    const resolved = await listener.waitFor((r) => (r.body as { status: string }).status === 'resolved', 5000);
    assert.deepEqual((resolved.body as { alerts: Array<{ labels: Record<string, string> }> }).alerts[0]!.labels, { alertname: 'Fast', rank: '2' });
    assert.ok(!alertsOf(ruler).some((a) => a.labels.alertname === 'Fast'));
  } finally {
    await ruler.stop();
    await listener.close();
  }
});
