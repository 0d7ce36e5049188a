// Delivery over HTTP: credentials in a URL become Basic auth, 5xx is retried up to max_attempts then
// counted as dropped, a 4xx is not retried, and logged URLs hide secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliverWithRetry, postJson, redactUrl, type DeliveryCounters } from '../../src/ruler/delivery.ts';
import { freePort } from '../support/peers.ts';
import { startListener } from './support/http-listener.ts';

const policy = { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20, timeoutMs: 2000 };
const counters = (): DeliveryCounters => ({ receiver: 'r', kind: 'webhook', sent: 0, failedAttempts: 0, dropped: 0, lastError: '' });

test('credentials in the URL become a Basic authorization header', async () => {
  const listener = await startListener();
  try {
    const url = new URL(listener.url);
    await postJson(`http://alice:s%40cret@${url.host}/api/v2/alerts`, [{ labels: { a: 'b' } }], 2000);
    const [request] = listener.received;
    assert.equal(request!.path, '/api/v2/alerts');
    assert.equal(request!.headers.authorization, `Basic ${Buffer.from('alice:s@cret').toString('base64')}`);
    assert.deepEqual(request!.body, [{ labels: { a: 'b' } }]);
  } finally {
    await listener.close();
  }
});

test('5xx is retried until max_attempts, then dropped; 4xx is not retried', async () => {
  const listener = await startListener();
  try {
    listener.setStatus(503);
    const failing = counters();
    const ok = await deliverWithRetry((signal) => postJson(`${listener.url}/hook`, {}, 2000, signal), policy, failing, new AbortController().signal);
    assert.equal(ok, false);
    assert.deepEqual({ attempts: listener.attempts(), failed: failing.failedAttempts, dropped: failing.dropped, sent: failing.sent }, { attempts: 3, failed: 3, dropped: 1, sent: 0 });
    assert.match(failing.lastError, /HTTP 503: failing on purpose/);

    listener.setStatus(400);
    const rejected = counters();
    await deliverWithRetry((signal) => postJson(`${listener.url}/hook`, {}, 2000, signal), policy, rejected, new AbortController().signal);
    assert.equal(listener.attempts(), 4, 'a 400 is tried once');
    assert.equal(rejected.dropped, 1);
  } finally {
    await listener.close();
  }
});

test('an unreachable receiver fails with a readable reason', async () => {
  const c = counters();
  const port = await freePort(); // nothing listens there any more
  await deliverWithRetry((signal) => postJson(`http://127.0.0.1:${port}/hook`, {}, 1000, signal), { ...policy, maxAttempts: 1 }, c, new AbortController().signal);
  assert.match(c.lastError, new RegExp(`^POST http://127\\.0\\.0\\.1:${port}/hook: .*ECONNREFUSED`));
});

test('logged URLs hide paths that may carry secrets', () => {
  assert.equal(redactUrl('https://hooks.slack.com/services/T000/B000/XXXXSECRET'), 'https://hooks.slack.com/services/…');
  assert.equal(redactUrl('http://am:9093'), 'http://am:9093');
  assert.equal(redactUrl('http://am:9093/alertmanager'), 'http://am:9093/alertmanager');
});
