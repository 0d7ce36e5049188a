import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PushSampler } from '../../src/pushgateway/sampler.ts';
import type { PushGroup } from '../../src/pushgateway/group-store.ts';
import type { AppendSeries } from '../../src/tsdb/types.ts';

function group(values: Record<string, number>): PushGroup {
  return {
    labels: { job: 'j' },
    families: Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { type: 'GAUGE' as const, pushTimeMs: 1000, samples: [{ name, labels: { job: 'j', instance: '' }, value }] }])),
    pushTimeMs: 1000,
    pushFailureTimeMs: 0,
    createdMs: 1000,
  };
}

test('values every sample, empty labels dropped; a series the group lost gets one staleness marker', async () => {
  const appended: AppendSeries[][] = [];
  const sampler = new PushSampler({ append: async (_tenant, series) => (appended.push(series), { accepted: series.length, rejected: [] }) });
  await sampler.sample('t', 'g', group({ a: 1, b: 2 }), 1000);
  assert.deepEqual(
    appended[0]!.map((series) => [series.labels, series.samples[0]!.value]),
    [
      [{ __name__: 'a', job: 'j' }, 1],
      [{ __name__: 'b', job: 'j' }, 2],
      [{ __name__: 'push_time_seconds', job: 'j' }, 1],
      [{ __name__: 'push_failure_time_seconds', job: 'j' }, 0],
    ],
  );
  await sampler.sample('t', 'g', group({ a: 3 }), 2000);
  const stale = appended[1]!.filter((series) => series.samples[0]!.stale === true);
  assert.deepEqual(
    stale.map((series) => [series.labels.__name__, series.samples[0]!.timestampMs]),
    [['b', 2000]],
  );
  await sampler.sample('t', 'g', undefined, 3000);
  assert.equal(appended[2]!.length, 3);
  assert.ok(appended[2]!.every((series) => series.samples[0]!.stale === true));
  await sampler.sample('t', 'g', undefined, 4000);
  assert.equal(appended.length, 3, 'nothing left to mark stale');
});
