// One evaluation of a rule group: instant queries at the evaluation time minus query_offset, recorded
// samples stamped with that time and the rule's labels, alerts handed to the notifier, and a failing
// rule marked unhealthy without stopping the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QueryParams, QueryResult } from '../../src/logql/api.ts';
import type { NotifiedAlert } from '../../src/ruler/alerting-rule.ts';
import type { RecordedSample } from '../../src/ruler/rule-group.ts';
import { parseRuleFile } from '../../src/ruler/rule-file.ts';
import { RuleGroup, type RuleGroupContext } from '../../src/ruler/rule-group.ts';

const stats = { bytesProcessed: 0, linesProcessed: 0, blocksRead: 0, blocksSkipped: 0, execTimeSeconds: 0 };

/** A group context that records nothing and sends nothing, with `overrides` for what a test checks. */
function testContext(overrides: Partial<RuleGroupContext> & Pick<RuleGroupContext, 'engine'>): RuleGroupContext {
  return {
    record: () => undefined,
    notify: () => undefined,
    onEvaluation: () => undefined,
    onError: () => undefined,
    resendDelayMs: 60_000,
    generatorURL: () => '',
    externalLabels: {},
    externalURL: '',
    resolvedRetentionMs: 900_000,
    queryTimeoutMs: 5000,
    ...overrides,
  };
}

const [definition] = parseRuleFile(
  `groups:
  - name: g
    interval: 10s
    query_offset: 30s
    rules:
      - record: job:errors:count1m
        expr: sum by (job) (count_over_time({job="a"} |= "error" [1m]))
        labels:
          team: ml
      - alert: Broken
        expr: sum(count_over_time({job="broken"}[1m])) > 0
      - alert: Logs
        expr: sum by (job) (count_over_time({job="a"}[1m])) > 0
        labels:
          severity: page
`,
  'g.yaml',
);

test('a group evaluation queries, records, alerts and isolates failures', async () => {
  const queries: QueryParams[] = [];
  const recorded: Array<{ timestampMs: number; samples: RecordedSample[] }> = [];
  const notified: NotifiedAlert[] = [];
  const errors: string[] = [];
  let evaluations = 0;
  const context = testContext({
    engine: {
      async query(params: QueryParams): Promise<QueryResult> {
        queries.push(params);
        if (params.query.includes('broken')) throw new Error('query timed out');
        return { resultType: 'vector', samples: [{ labels: { job: 'a' }, value: 7, timestampMs: Number(params.endNs / 1_000_000n) }], stats };
      },
    },
    record: (_tenant, timestampMs, samples) => {
      recorded.push({ timestampMs, samples });
    },
    notify: (alerts) => notified.push(...alerts),
    onEvaluation: () => evaluations++,
    onError: (_group, rule, message) => errors.push(`${rule?.definition.name ?? '(group)'}: ${message}`),
    generatorURL: (expr) => `http://r/explore?query=${encodeURIComponent(expr)}`,
    externalURL: 'http://r',
  });
  const group = new RuleGroup('tenant-a', 'ns', definition!, 60_000, context);
  assert.equal(group.intervalMs, 10_000);
  const nowMs = 1_800_000_000_000;
  await group.evaluate(nowMs);

  assert.equal(queries.length, 3);
  for (const query of queries) {
    assert.equal(query.tenant, 'tenant-a');
    assert.equal(query.instant, true);
    assert.equal(query.startNs, query.endNs);
    assert.equal(query.endNs, BigInt(nowMs - 30_000) * 1_000_000n, 'query_offset moves the query time back');
  }
  assert.deepEqual(recorded, [
    { timestampMs: nowMs - 30_000, samples: [{ labels: { job: 'a', team: 'ml', __name__: 'job:errors:count1m' }, value: 7 }] },
    // Prometheus's ALERTS and ALERTS_FOR_STATE series for the active alert, at the evaluation time.
    {
      timestampMs: nowMs,
      samples: [
        { labels: { job: 'a', severity: 'page', alertname: 'Logs', __name__: 'ALERTS', alertstate: 'firing' }, value: 1 },
        { labels: { job: 'a', severity: 'page', alertname: 'Logs', __name__: 'ALERTS_FOR_STATE' }, value: nowMs / 1000 },
      ],
    },
  ]);
  assert.deepEqual(errors, ['Broken: query timed out']);
  assert.equal(group.rules[1]!.health, 'err');
  assert.equal(group.rules[2]!.health, 'ok');
  assert.equal(notified.length, 1);
  assert.deepEqual(notified[0]!.labels, { job: 'a', severity: 'page', alertname: 'Logs' });
  assert.equal(notified[0]!.generatorURL, `http://r/explore?query=${encodeURIComponent('sum by (job) (count_over_time({job="a"}[1m])) > 0')}`);
  assert.equal(evaluations, 1);
});

test('a log query result is a rule error that says what to write instead', async () => {
  const errors: string[] = [];
  const [logGroup] = parseRuleFile('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x\n', 'g.yaml');
  const group = new RuleGroup('t', 'ns', logGroup!, 60_000, testContext({
    engine: { query: async () => ({ resultType: 'streams', streams: [], stats }) },
    onError: (_group, _rule, message) => errors.push(message),
  }));
  await group.evaluate(Date.now());
  assert.match(errors[0]!, /rules need a metric query such as count_over_time/);
});

test('series a rule wrote last time and not now get staleness markers (recorded, ALERTS, ALERTS_FOR_STATE)', async () => {
  const [staleGroup] = parseRuleFile(
    'groups:\n  - name: g\n    rules:\n      - record: job:x\n        expr: sum by (job) (count_over_time({job=~".+"}[1m]))\n      - alert: Any\n        expr: sum by (job) (count_over_time({job=~".+"}[1m])) > 0\n',
    'g.yaml',
  );
  let jobs = ['a', 'b'];
  const written: Array<{ timestampMs: number; samples: RecordedSample[] }> = [];
  const group = new RuleGroup('t', 'ns', staleGroup!, 60_000, testContext({
    engine: { query: async () => ({ resultType: 'vector', samples: jobs.map((job) => ({ labels: { job }, value: 1, timestampMs: 0 })), stats }) },
    record: (_tenant, timestampMs, samples) => {
      written.push({ timestampMs, samples });
    },
  }));
  await group.evaluate(1_000_000);
  assert.ok(written.every((w) => w.samples.every((sample) => sample.stale === undefined)), 'nothing is stale on the first evaluation');
  written.length = 0;
  jobs = ['a'];
  await group.evaluate(1_060_000);
  const stale = written.flatMap((w) => w.samples.filter((sample) => sample.stale === true).map((sample) => [w.timestampMs, sample.labels.__name__, sample.labels.job]));
  assert.deepEqual(stale, [
    [1_060_000, 'job:x', 'b'],
    [1_060_000, 'ALERTS', 'b'],
    [1_060_000, 'ALERTS_FOR_STATE', 'b'],
  ]);
  assert.ok(written.flatMap((w) => w.samples).every((sample) => sample.stale === true || sample.labels.job === 'a'));
});

test('a removed or replaced group marks stale what its rules wrote, except what an identical rule takes over', async () => {
  const file = (exprB: string) =>
    `groups:\n  - name: g\n    rules:\n      - record: job:a\n        expr: sum by (job) (count_over_time({job="a"}[1m]))\n      - record: job:b\n        expr: ${exprB}\n`;
  const written: RecordedSample[] = [];
  const context = testContext({
    engine: { query: async () => ({ resultType: 'vector', samples: [{ labels: { job: 'x' }, value: 1, timestampMs: 0 }], stats }) },
    record: (_tenant, _timestampMs, samples) => {
      written.push(...samples);
    },
  });
  const old = new RuleGroup('t', 'ns', parseRuleFile(file('sum by (job) (count_over_time({job="b"}[1m]))'), 'g.yaml')[0]!, 60_000, context);
  await old.evaluate(1_000_000);
  const replacement = new RuleGroup('t', 'ns', parseRuleFile(file('sum by (job) (count_over_time({job="c"}[1m]))'), 'g.yaml')[0]!, 60_000, context);
  replacement.copyStateFrom(old);
  written.length = 0;
  await old.markStale(1_010_000);
  assert.deepEqual(written, [{ labels: { job: 'x', __name__: 'job:b' }, value: Number.NaN, stale: true }], "job:a is the replacement's now; job:b changed");
  written.length = 0;
  await replacement.markStale(1_020_000);
  assert.deepEqual(written.map((sample) => sample.labels.__name__), ['job:a']);
});
