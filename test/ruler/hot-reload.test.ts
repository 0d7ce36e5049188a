// Rule files reload on change without a restart (fs.watch; polling as fallback); a bad file is
// reported with path, line and reason while its last good rules keep running, alert state included;
// `for` holds an alert pending for its duration in the running evaluation loop.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueryParams, QueryResult } from '../../src/logql/api.ts';
import { defaultRulerConfig, startRuler, type Ruler } from '../../src/ruler/index.ts';
import type { RulerLogger } from '../../src/ruler/notifier-hub.ts';
import { until } from '../support/until.ts';

const stats = { bytesProcessed: 0, linesProcessed: 0, blocksRead: 0, blocksSkipped: 0, execTimeSeconds: 0 };
const root = mkdtempSync(join(tmpdir(), 'rankscope-reload-'));
after(() => rmSync(root, { recursive: true, force: true }));

class ScriptedEngine {
  value = 1;
  async query(params: QueryParams): Promise<QueryResult> {
    return { resultType: 'vector', samples: [{ labels: { pod: 'p0' }, value: this.value, timestampMs: Number(params.endNs / 1_000_000n) }], stats };
  }
}

function collectingLogger(): RulerLogger & { errors: string[] } {
  const errors: string[] = [];
  return { errors, info: () => undefined, warn: () => undefined, error: (_fields, message) => errors.push(message) };
}

type RulesData = { groups: Array<{ name: string; file: string; rules: Array<{ name: string; state?: string; health: string; alerts?: Array<{ state: string; activeAt: string }> }> }> };
const ruleNames = (ruler: Ruler, tenant = 'fake'): string[] => (ruler.prometheusRules(tenant) as RulesData).groups.flatMap((g) => g.rules.map((r) => r.name));

const file = (alerts: string[], forText = '10s'): string =>
  `groups:\n  - name: g\n    interval: 200ms\n    rules:\n${alerts.map((name) => `      - alert: ${name}\n        expr: sum(count_over_time({job="x"}[1m])) > 0\n        for: ${forText}\n`).join('')}`;

test('edits apply without restart; a bad file keeps the last good rules and their state', async () => {
  const dir = join(root, 'watch');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'team.yaml'), file(['First']));
  const logger = collectingLogger();
  // Polling is off (1h) so this proves fs.watch alone picks the changes up.
  const ruler = startRuler({ engine: new ScriptedEngine(), config: defaultRulerConfig({ rules_dir: dir, poll_interval: '1h' }), dataDir: join(root, 'd1'), logger });
  try {
    assert.deepEqual(ruleNames(ruler), ['First']);
    await until('First to be pending', () => ((ruler.prometheusAlerts('fake').alerts as Array<{ state: string }>)[0]?.state === 'pending' ? true : undefined));
    const activeAt = (ruler.prometheusAlerts('fake').alerts as Array<{ activeAt: string }>)[0]!.activeAt;

    writeFileSync(join(dir, 'team.yaml'), file(['First', 'Second']));
    await until('Second to load', () => (ruleNames(ruler).includes('Second') ? true : undefined));
    const kept = (ruler.prometheusRules('fake') as RulesData).groups[0]!.rules[0]!.alerts![0]!;
    assert.equal(kept.activeAt, activeAt, 'the unchanged rule keeps its pending alert across the reload');

    writeFileSync(join(dir, 'team.yaml'), 'groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: vector(1)\n        for: soon\n');
    await until('the problem to be reported', () => (ruler.problems().length > 0 ? true : undefined));
    const [problem] = ruler.problems();
    assert.equal(problem!.path, join(dir, 'team.yaml'));
    assert.equal(problem!.line, 6);
    assert.match(problem!.message, /for: not a valid duration string/);
    assert.ok(logger.errors.some((m) => m.includes(`${join(dir, 'team.yaml')}:6:14`)), `logged with path:line:col: ${logger.errors.join('\n')}`);
    assert.deepEqual(ruleNames(ruler), ['First', 'Second'], 'the last good rules keep running');
    assert.match(ruler.metricsText(), /rankscope_ruler_config_last_reload_successful 0/);

    // Another tenant's directory appears.
    mkdirSync(join(dir, 'team-b'));
    writeFileSync(join(dir, 'team-b', 'ns.yaml'), file(['OtherTenant']));
    await until('the other tenant to load', () => (ruleNames(ruler, 'team-b').includes('OtherTenant') ? true : undefined));
    assert.ok(!ruleNames(ruler).includes('OtherTenant'), 'tenants do not see each other\'s rules');

    writeFileSync(join(dir, 'team.yaml'), file(['Third']));
    await until('the fixed file to load', () => (ruleNames(ruler).join() === 'Third' ? true : undefined));
    assert.deepEqual(ruler.problems(), []);
    assert.match(ruler.metricsText(), /rankscope_ruler_config_last_reload_successful 1/);
  } finally {
    await ruler.stop();
  }
});

test('polling picks up changes when watching is not enough', async () => {
  const dir = join(root, 'poll');
  mkdirSync(dir, { recursive: true });
  const ruler = startRuler({ engine: new ScriptedEngine(), config: defaultRulerConfig({ rules_dir: dir, poll_interval: '100ms' }), dataDir: join(root, 'd2'), logger: collectingLogger() });
  try {
    // Stop the watcher so only the poll can notice.
    (ruler as unknown as { watcher?: { close(): void } }).watcher?.close();
    writeFileSync(join(dir, 'late.yaml'), file(['Polled']));
    await until('the poll to load the file', () => (ruleNames(ruler).includes('Polled') ? true : undefined), 3000);
  } finally {
    await ruler.stop();
  }
});

test('`for` keeps an alert pending for its duration, then it fires', async () => {
  const dir = join(root, 'for');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'for.yaml'), file(['Held'], '1s'));
  const started = Date.now();
  const ruler = startRuler({ engine: new ScriptedEngine(), config: defaultRulerConfig({ rules_dir: dir, poll_interval: '1h' }), dataDir: join(root, 'd3'), logger: collectingLogger() });
  try {
    const alerts = () => ruler.prometheusAlerts('fake').alerts as Array<{ state: string; activeAt: string }>;
    await until('pending', () => (alerts()[0]?.state === 'pending' ? true : undefined));
    const firedAt = await until('firing', () => (alerts()[0]?.state === 'firing' ? Date.now() : undefined), 4000);
    const activeAtMs = Date.parse(alerts()[0]!.activeAt);
    assert.ok(activeAtMs >= started - 1000);
    assert.ok(firedAt - activeAtMs >= 1000, `fired ${firedAt - activeAtMs}ms after becoming active; for is 1s`);
    assert.ok(firedAt - activeAtMs < 2500, `fired within an interval or so of the 1s hold (${firedAt - activeAtMs}ms)`);
  } finally {
    await ruler.stop();
  }
});
