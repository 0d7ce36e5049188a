import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExposition } from '../../src/push/exposition-parse.ts';
import { exposedSamples, familiesOfPush, PushGroupStore, PushRejectedError, type PushMethod } from '../../src/pushgateway/group-store.ts';

function push(store: PushGroupStore, method: PushMethod, labels: Record<string, string>, text: string, nowMs: number, ttlMs?: number) {
  let families;
  try {
    families = familiesOfPush(parseExposition(text), labels, nowMs);
  } catch (error) {
    families = error as PushRejectedError;
  }
  return store.push('t', method, labels, families, nowMs, ttlMs);
}

test('PUT replaces the group, POST only the families it names; the key overrides body labels', () => {
  const store = new PushGroupStore();
  push(store, 'PUT', { job: 'j' }, '# TYPE a gauge\na{job="x",k="1"} 1\n# TYPE b gauge\nb 2\n', 1000);
  push(store, 'POST', { job: 'j' }, '# TYPE b gauge\nb 3\n# TYPE c gauge\nc 4\n', 2000);
  const group = store.get('t', { job: 'j' })!;
  assert.deepEqual(Object.keys(group.families).sort(), ['a', 'b', 'c']);
  assert.deepEqual(group.families.a!.samples[0]!.labels, { job: 'j', k: '1', instance: '' });
  assert.equal(group.families.b!.samples[0]!.value, 3);
  assert.equal(group.pushTimeMs, 2000);
  push(store, 'PUT', { job: 'j' }, '', 3000);
  assert.deepEqual(Object.keys(store.get('t', { job: 'j' })!.families), []);
  assert.deepEqual(
    exposedSamples(store.get('t', { job: 'j' })!).map((sample) => [sample.name, sample.value]),
    [
      ['push_time_seconds', 3],
      ['push_failure_time_seconds', 0],
    ],
  );
});

test('a refused push is not applied but sets the failure time, creating the group', () => {
  const store = new PushGroupStore();
  push(store, 'PUT', { job: 'a' }, '# TYPE m gauge\nm 1\n', 1000);
  const cases: Array<[text: string, reason: RegExp]> = [
    ['# TYPE m counter\nm 1\n', /is COUNTER, but the metric is GAUGE in group \{job="a"\}/],
    ['# TYPE m gauge\nm 1 5\n', /must not have timestamps/],
    ['# TYPE m gauge\nm 1\nm 2\n', /was collected before with the same name and label values/],
    ['rankscope_x 1\n', /collides with rankscope's own metrics/],
  ];
  for (const [index, [text, reason]] of cases.entries()) {
    assert.throws(() => push(store, 'PUT', { job: `b${index}` }, text, 2000 + index), (error: unknown) => error instanceof PushRejectedError && reason.test(error.message), text);
    const group = store.get('t', { job: `b${index}` })!;
    assert.equal(group.pushFailureTimeMs, 2000 + index);
    assert.equal(group.pushTimeMs, 0);
    assert.deepEqual(group.families, {});
  }
  // The push_time metrics in a body are the gateway's own: dropped, not an error.
  push(store, 'PUT', { job: 'c' }, 'push_time_seconds 5\n', 3000);
  assert.equal(store.get('t', { job: 'c' })!.pushTimeMs, 3000);
});

test('a TTL counts from the last successful push; expired groups are returned once', () => {
  const store = new PushGroupStore();
  push(store, 'PUT', { job: 'ttl' }, 'm 1\n', 1000, 500);
  push(store, 'PUT', { job: 'forever' }, 'n 1\n', 1000);
  assert.deepEqual(store.expire(1400), []);
  push(store, 'POST', { job: 'ttl' }, 'm 2\n', 1400);
  assert.deepEqual(store.expire(1899), []);
  assert.deepEqual(
    store.expire(1900).map(({ group }) => group.labels.job),
    ['ttl'],
  );
  assert.deepEqual(store.expire(10_000), []);
  assert.deepEqual(store.groups('t').map((group) => group.labels.job), ['forever']);
});
