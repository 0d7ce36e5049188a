// The alert state machine follows Prometheus: pending until `for` has passed, firing, kept firing for
// `keep_firing_for`, then resolved and still reported for the retention; labels and annotations are
// templated per alert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertingRule, type EvaluatedSample } from '../../src/ruler/alerting-rule.ts';
import type { RuleDefinition } from '../../src/ruler/rule-file.ts';

function rule(overrides: Partial<RuleDefinition> = {}): AlertingRule {
  return new AlertingRule(
    {
      kind: 'alerting',
      name: 'RankTraceback',
      expr: 'sum by (pod) (count_over_time({job="t"} |= "Traceback" [1m])) > 0',
      forMs: 30_000,
      keepFiringForMs: 0,
      labels: { severity: 'critical', rank_label: 'rank-{{ $labels.pod }}' },
      annotations: { summary: '{{ $labels.pod }}: {{ $value }} tracebacks' },
      ...overrides,
    },
    { externalLabels: { cluster: 'c1' }, externalURL: 'http://x', resolvedRetentionMs: 15 * 60_000 },
  );
}

const podA: EvaluatedSample = { labels: { pod: 'a' }, value: 2 };
const podB: EvaluatedSample = { labels: { pod: 'b' }, value: 5 };

test('pending until `for` passes, then firing, then resolved', () => {
  const r = rule();
  const t0 = 1_000_000;
  let alerts = r.evaluate([podA], t0);
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0]!.state, 'pending');
  assert.deepEqual(alerts[0]!.labels, { pod: 'a', severity: 'critical', rank_label: 'rank-a', alertname: 'RankTraceback' });
  assert.deepEqual(alerts[0]!.annotations, { summary: 'a: 2 tracebacks' });
  assert.equal(r.state(), 'pending');
  assert.deepEqual(r.alertsToSend(t0, 60_000, 10_000, 'g'), [], 'pending alerts are not sent');

  alerts = r.evaluate([podA], t0 + 29_999);
  assert.equal(alerts[0]!.state, 'pending', 'still pending 1 ms before `for`');
  alerts = r.evaluate([{ labels: { pod: 'a' }, value: 7 }], t0 + 30_000);
  assert.equal(alerts[0]!.state, 'firing');
  assert.equal(alerts[0]!.activeAtMs, t0);
  assert.equal(alerts[0]!.firedAtMs, t0 + 30_000);
  assert.equal(alerts[0]!.annotations.summary, 'a: 7 tracebacks', 'annotations follow the latest value');

  const sent = r.alertsToSend(t0 + 30_000, 60_000, 10_000, 'http://x/explore');
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.labels.cluster, 'c1', 'external labels are added on send');
  assert.equal(sent[0]!.startsAtMs, t0 + 30_000);
  assert.equal(sent[0]!.endsAtMs, t0 + 30_000 + 4 * 60_000);
  assert.deepEqual(r.alertsToSend(t0 + 40_000, 60_000, 10_000, 'g'), [], 'not re-sent before resend_delay');
  assert.equal(r.alertsToSend(t0 + 90_001, 60_000, 10_000, 'g').length, 1, 're-sent after resend_delay');

  alerts = r.evaluate([], t0 + 100_000);
  assert.equal(alerts[0]!.state, 'inactive');
  assert.equal(alerts[0]!.resolvedAtMs, t0 + 100_000);
  const resolved = r.alertsToSend(t0 + 100_000, 60_000, 10_000, 'g');
  assert.equal(resolved.length, 1, 'a resolution is sent at once');
  assert.equal(resolved[0]!.endsAtMs, t0 + 100_000);
  assert.equal(r.state(), 'inactive');

  // Kept for the retention, then dropped.
  assert.equal(r.evaluate([], t0 + 100_000 + 15 * 60_000).length, 1);
  assert.equal(r.evaluate([], t0 + 100_001 + 15 * 60_000).length, 0);
});

test('a pending alert that disappears is dropped without a notification', () => {
  const r = rule();
  r.evaluate([podA, podB], 0);
  const alerts = r.evaluate([podB], 10_000);
  assert.deepEqual(alerts.map((a) => a.labels.pod), ['b']);
  assert.deepEqual(r.alertsToSend(10_000, 60_000, 10_000, 'g'), []);
});

test('`for: 0` fires on the first evaluation', () => {
  const r = rule({ forMs: 0 });
  assert.equal(r.evaluate([podA], 5)[0]!.state, 'firing');
});

test('keep_firing_for holds a firing alert after its condition clears', () => {
  const r = rule({ forMs: 0, keepFiringForMs: 20_000 });
  r.evaluate([podA], 0);
  let alerts = r.evaluate([], 10_000);
  assert.equal(alerts[0]!.state, 'firing');
  assert.equal(alerts[0]!.keepFiringSinceMs, 10_000);
  alerts = r.evaluate([], 29_999);
  assert.equal(alerts[0]!.state, 'firing');
  alerts = r.evaluate([], 30_000);
  assert.equal(alerts[0]!.state, 'inactive');
  // Coming back after resolution starts a new alert.
  alerts = r.evaluate([podA], 40_000);
  assert.equal(alerts[0]!.state, 'firing');
  assert.equal(alerts[0]!.activeAtMs, 40_000);
});

test('a result above the group limit fails the rule and drops its alerts', () => {
  const r = rule({ forMs: 0 });
  assert.equal(r.evaluate([podA, podB], 0, 1).length, 0);
  assert.equal(r.health, 'err');
  assert.equal(r.lastError, 'exceeded limit of 1 with 2 alerts');
});

test('duplicate label sets after templating are an evaluation error', () => {
  const r = rule({ labels: { pod: 'same' } });
  r.evaluate([podA, podB], 0);
  assert.equal(r.health, 'err');
  assert.match(r.lastError, /same labelset/);
});

test('state carries over to an identical rule (hot reload)', () => {
  const before = rule();
  before.evaluate([podA], 0);
  const after = rule();
  after.copyStateFrom(before);
  assert.equal(after.evaluate([podA], 30_000)[0]!.state, 'firing', '`for` progress survives the reload');
});
