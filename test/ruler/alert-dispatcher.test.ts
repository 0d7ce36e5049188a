// Alertmanager-style grouping for the built-in receivers: alerts split by group_by, the first
// notification after group_wait, changes batched per group_interval, repeats after repeat_interval,
// and a resolve message once everything in the group resolved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertDispatcher, type WebhookMessage } from '../../src/ruler/alert-dispatcher.ts';
import type { NotifiedAlert } from '../../src/ruler/alerting-rule.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function alert(fingerprint: string, labels: Record<string, string>, endsAtMs: number): NotifiedAlert {
  return { fingerprint, labels, annotations: { summary: `about ${fingerprint}` }, startsAtMs: 1_000, endsAtMs, generatorURL: 'http://x/explore' };
}

test('groups by labels, waits group_wait, repeats after repeat_interval, then resolves', async () => {
  const sent: Array<{ atMs: number; message: WebhookMessage }> = [];
  const started = Date.now();
  const dispatcher = new AlertDispatcher({
    receiver: 'team',
    config: { groupBy: ['alertname'], groupWaitMs: 300, groupIntervalMs: 200, repeatIntervalMs: 800, sendResolved: true },
    externalURL: 'http://rankscope',
    notify: async (message) => {
      sent.push({ atMs: Date.now() - started, message });
      return true;
    },
  });
  try {
    const future = Date.now() + 60_000;
    dispatcher.receive([alert('a1', { alertname: 'OOM', rank: '1' }, future), alert('b1', { alertname: 'Silent', rank: '2' }, future)]);
    await sleep(100);
    dispatcher.receive([alert('a2', { alertname: 'OOM', rank: '3' }, future)]);
    assert.equal(sent.length, 0, 'nothing before group_wait');
    await sleep(400);
    assert.equal(sent.length, 2, 'one notification per group');
    const oom = sent.find((s) => s.message.groupLabels.alertname === 'OOM')!;
    assert.ok(oom.atMs >= 290, `first notification after group_wait (${oom.atMs}ms)`);
    assert.equal(oom.message.alerts.length, 2, 'alerts that arrived during group_wait are batched');
    assert.deepEqual(oom.message.commonLabels, { alertname: 'OOM' });
    assert.equal(oom.message.groupKey, '{}:{alertname="OOM"}');
    assert.equal(oom.message.status, 'firing');

    // Nothing changed: no new notification until repeat_interval.
    await sleep(300);
    assert.equal(sent.length, 2);
    await sleep(700);
    assert.equal(sent.length, 4, 'both groups repeat after repeat_interval');

    // OOM resolves: one resolve message for that group.
    const past = Date.now() - 1;
    dispatcher.receive([alert('a1', { alertname: 'OOM', rank: '1' }, past), alert('a2', { alertname: 'OOM', rank: '3' }, past)]);
    await sleep(500);
    const resolved = sent.filter((s) => s.message.status === 'resolved');
    assert.equal(resolved.length, 1);
    assert.deepEqual(resolved[0]!.message.alerts.map((a) => a.status), ['resolved', 'resolved']);
    assert.equal(dispatcher.groupCount, 1, 'the resolved group is gone; Silent remains');
  } finally {
    dispatcher.stop();
  }
});

test("group_by ['...'] groups by every label; without send_resolved a resolution sends nothing", async () => {
  const sent: WebhookMessage[] = [];
  const dispatcher = new AlertDispatcher({
    receiver: 'r',
    config: { groupBy: ['...'], groupWaitMs: 20, groupIntervalMs: 150, repeatIntervalMs: 60_000, sendResolved: false },
    externalURL: '',
    notify: async (message) => {
      sent.push(message);
      return true;
    },
  });
  try {
    const future = Date.now() + 60_000;
    dispatcher.receive([alert('x', { alertname: 'A', job: 'j' }, future)]);
    await sleep(60);
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]!.groupLabels, { alertname: 'A', job: 'j' }, "group_by ['...'] groups by every label");
    // Resolution without send_resolved: no message, and the group empties.
    dispatcher.receive([alert('x', { alertname: 'A', job: 'j' }, Date.now() - 1)]);
    await sleep(200);
    assert.equal(sent.length, 1);
    assert.equal(dispatcher.groupCount, 0);
  } finally {
    dispatcher.stop();
  }
});
