// Alerts reach a REAL Alertmanager over its v2 API, fire and resolve there; Alertmanager's own webhook
// payload and rankscope's built-in webhook payload (same listener) have the same shape; Slack messages
// go out firing then resolved; failed deliveries are retried with backoff and counted.
// The LogQL side is a scripted engine here (test/ruler/server-alerting.test.ts runs the real one).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueryParams, QueryResult } from '../../src/logql/api.ts';
import { defaultRulerConfig, startRuler, type Ruler } from '../../src/ruler/index.ts';
import type { RulerLogger } from '../../src/ruler/notifier-hub.ts';
import { ALERTMANAGER_BIN, fastRouteConfig, startAlertmanager, type RunningAlertmanager } from './support/alertmanager-process.ts';
import { startListener, type Listener } from './support/http-listener.ts';
import { until } from '../support/until.ts';

const quietLogger: RulerLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const stats = { bytesProcessed: 0, linesProcessed: 0, blocksRead: 0, blocksSkipped: 0, execTimeSeconds: 0 };

/** An engine whose instant-query answer the test sets. */
class ScriptedEngine {
  samples: Array<{ labels: Record<string, string>; value: number }> = [];
  queries: QueryParams[] = [];
  async query(params: QueryParams): Promise<QueryResult> {
    this.queries.push(params);
    return { resultType: 'vector', samples: this.samples.map((s) => ({ ...s, timestampMs: Number(params.endNs / 1_000_000n) })), stats };
  }
}

const RULES = `groups:
  - name: rank-failures
    interval: 1s
    rules:
      - alert: RankTraceback
        expr: sum by (pod) (count_over_time({job="train"} |= "Traceback" [1m])) > 0
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.pod }} logged {{ $value }} tracebacks"
`;

let am: RunningAlertmanager | undefined;
let listener: Listener;
let dir: string;
const skip = existsSync(ALERTMANAGER_BIN) ? false : `${ALERTMANAGER_BIN} is not installed (apt-get install prometheus-alertmanager)`;

before(async () => {
  listener = await startListener();
  dir = mkdtempSync(join(tmpdir(), 'rankscope-ruler-'));
  if (skip === false) {
    am = await startAlertmanager(fastRouteConfig(`${listener.url}/from-alertmanager`, true));
  }
});

after(async () => {
  await am?.stop();
  await listener.close();
  rmSync(dir, { recursive: true, force: true });
});

async function amAlerts(url: string): Promise<Array<{ labels: Record<string, string>; annotations: Record<string, string>; status: { state: string }; endsAt: string }>> {
  const response = await fetch(`${url}/api/v2/alerts`);
  assert.equal(response.status, 200);
  return (await response.json()) as Array<{ labels: Record<string, string>; annotations: Record<string, string>; status: { state: string }; endsAt: string }>;
}

function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        // label/annotation maps have data-dependent keys; compare them as maps
        .map((key) => [key, ['labels', 'annotations', 'groupLabels', 'commonLabels', 'commonAnnotations'].includes(key) ? 'map' : shape((value as Record<string, unknown>)[key])]),
    );
  }
  return typeof value;
}

test('alerts fire and resolve in a real Alertmanager; built-in webhook and Slack match', { skip }, async () => {
  const rulesDir = join(dir, 'rules-am');
  const engine = new ScriptedEngine();
  let ruler: Ruler | undefined;
  try {
    const config = defaultRulerConfig({
      rules_dir: rulesDir,
      alertmanager_url: [am!.url],
      resend_delay: '1s',
      external_url: 'http://rankscope.test:3100',
      external_labels: { cluster: 'test' },
      webhook: [{ name: 'builtin', url: `${listener.url}/from-rankscope`, group_wait: '100ms', group_interval: '500ms', repeat_interval: '1h' }],
      slack: [{ name: 'slack', webhook_url: `${listener.url}/slack`, channel: '#training', group_wait: '100ms', group_interval: '500ms' }],
    });
    // The directory starts empty; the rule file appears after start, as with a hot reload.
    ruler = startRuler({ engine, config, dataDir: join(dir, 'data-am'), logger: quietLogger });
    writeFileSync(join(rulesDir, 'training.yaml'), RULES);
    await ruler.reload();
    engine.samples = [{ labels: { pod: 'trainer-3' }, value: 2 }];

    const firing = await until('the alert firing in Alertmanager', async () => {
      const alerts = await amAlerts(am!.url);
      return alerts.find((a) => a.labels.alertname === 'RankTraceback' && a.status.state === 'active');
    });
    assert.deepEqual(firing.labels, { alertname: 'RankTraceback', pod: 'trainer-3', severity: 'critical', cluster: 'test' });
    assert.equal(firing.annotations.summary, 'trainer-3 logged 2 tracebacks');
    assert.equal(engine.queries[0]!.instant, true);
    assert.equal(engine.queries[0]!.startNs, engine.queries[0]!.endNs);

    const amFiring = await listener.waitFor((r) => r.path === '/from-alertmanager' && (r.body as { status: string }).status === 'firing', 10_000);
    const ourFiring = await listener.waitFor((r) => r.path === '/from-rankscope' && (r.body as { status: string }).status === 'firing', 10_000);
    assert.deepEqual(shape(ourFiring.body), shape(amFiring.body), 'the built-in webhook payload has Alertmanager\'s shape');
    const ours = ourFiring.body as { version: string; receiver: string; alerts: Array<{ labels: Record<string, string>; endsAt: string; status: string }>; commonLabels: Record<string, string>; groupLabels: Record<string, string> };
    const theirs = amFiring.body as typeof ours;
    assert.equal(ours.version, theirs.version);
    assert.deepEqual(ours.alerts[0]!.labels, theirs.alerts[0]!.labels);
    assert.deepEqual(ours.commonLabels, theirs.commonLabels);
    assert.deepEqual(ours.groupLabels, theirs.groupLabels);
    assert.equal(ours.alerts[0]!.endsAt, theirs.alerts[0]!.endsAt, 'firing alerts carry Go\'s zero time as endsAt');
    assert.equal(ours.receiver, 'builtin');

    const slackFiring = await listener.waitFor((r) => r.path === '/slack', 10_000);
    const slackBody = slackFiring.body as { channel: string; attachments: Array<{ color: string; title: string; text: string }> };
    assert.equal(slackBody.channel, '#training');
    assert.equal(slackBody.attachments[0]!.color, 'danger');
    assert.equal(slackBody.attachments[0]!.title, '[FIRING:1] RankTraceback');
    assert.equal(slackBody.attachments[0]!.text, 'trainer-3 logged 2 tracebacks');

    // The condition clears: Alertmanager gets endsAt and resolves; both webhooks say "resolved".
    engine.samples = [];
    const amResolved = await listener.waitFor((r) => r.path === '/from-alertmanager' && (r.body as { status: string }).status === 'resolved', 10_000);
    const ourResolved = await listener.waitFor((r) => r.path === '/from-rankscope' && (r.body as { status: string }).status === 'resolved', 10_000);
    assert.deepEqual(shape(ourResolved.body), shape(amResolved.body));
    const resolvedAlert = (ourResolved.body as typeof ours).alerts[0]!;
    assert.equal(resolvedAlert.status, 'resolved');
    assert.notEqual(resolvedAlert.endsAt, '0001-01-01T00:00:00Z');
    await until('Alertmanager to drop the active alert', async () => {
      const alerts = await amAlerts(am!.url);
      return alerts.some((a) => a.labels.alertname === 'RankTraceback' && a.status.state === 'active' && Date.parse(a.endsAt) > Date.now()) ? undefined : true;
    });
    const slackResolved = await listener.waitFor((r) => r.path === '/slack' && (r.body as typeof slackBody).attachments[0]!.color === 'good', 10_000);
    assert.equal((slackResolved.body as typeof slackBody).attachments[0]!.title, '[RESOLVED] RankTraceback');

    const metrics = ruler.metrics();
    const amCounters = metrics.notifications.find((n) => n.kind === 'alertmanager')!;
    assert.ok(amCounters.sent >= 2, `Alertmanager deliveries counted: ${JSON.stringify(amCounters)}`);
    assert.match(ruler.metricsText(), /rankscope_ruler_notifications_sent_total\{receiver="builtin",kind="webhook"\} [1-9]/);
  } finally {
    await ruler?.stop();
  }
});

test('failed deliveries are retried with backoff and counted', async () => {
  const failing = await startListener();
  const engine = new ScriptedEngine();
  engine.samples = [{ labels: { pod: 'p' }, value: 1 }];
  const rulesDir = join(dir, 'rules-retry');
  let ruler: Ruler | undefined;
  try {
    failing.setStatus(503);
    const config = defaultRulerConfig({
      rules_dir: rulesDir,
      retry_backoff: '50ms',
      retry_max_backoff: '200ms',
      max_attempts: 6,
      webhook: [{ name: 'flaky', url: `${failing.url}/hook`, group_wait: '10ms', group_interval: '10s' }],
    });
    ruler = startRuler({ engine, config, dataDir: join(dir, 'data-retry'), logger: quietLogger });
    writeFileSync(join(rulesDir, 'r.yaml'), RULES);
    await ruler.reload();
    await until('two failed attempts', async () => (ruler!.metrics().notifications[0]!.failedAttempts >= 2 ? true : undefined));
    failing.setStatus(200);
    const delivered = await failing.waitFor((r) => r.path === '/hook', 5000);
    assert.equal((delivered.body as { status: string }).status, 'firing');
    // The listener sees the request just before the ruler sees the answer.
    const counters = await until('the delivery to be counted', async () => {
      const current = ruler!.metrics().notifications[0]!;
      return current.sent === 1 ? current : undefined;
    });
    assert.ok(counters.failedAttempts >= 2);
    assert.equal(counters.dropped, 0);
    assert.match(ruler.metricsText(), /rankscope_ruler_notification_failed_attempts_total\{receiver="flaky",kind="webhook"\} [2-9]/);
  } finally {
    await ruler?.stop();
    await failing.close();
  }
});
