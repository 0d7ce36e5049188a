import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openObjectStore } from '../../src/objstore/open-object-store.ts';
import { openStore } from '../../src/store/store.ts';
import { makeTempDir, readAll, testOptions } from './store-fixture.ts';

const NS_PER_DAY = 86_400_000_000_000n;
const MS_PER_DAY = 86_400_000;
// Relative to the real clock: cuts drop entries already past retention using the current time.
const TODAY_MS = Math.floor(Date.now() / MS_PER_DAY) * MS_PER_DAY;
const DAY_START_NS = BigInt(TODAY_MS) * 1_000_000n;
const NOW_MS = TODAY_MS + MS_PER_DAY / 2; // noon today
const dayName = (daysAgo: number): string => new Date(TODAY_MS - daysAgo * MS_PER_DAY).toISOString().slice(0, 10);

test('retention drops whole partitions older than retention_period, on disk and in the index', async () => {
  const dir = await makeTempDir('store-retention');
  try {
    const writer = await openStore(testOptions(dir.path));
    for (const daysAgo of [5, 3, 2, 1, 0]) {
      await writer.append('fake', [{ labels: { job: 'train', age: String(daysAgo) }, entries: [{ timestampNs: DAY_START_NS - BigInt(daysAgo) * NS_PER_DAY + 1n, line: `${daysAgo} days ago` }] }]);
    }
    await writer.close();
    const options = testOptions(dir.path, { retentionPeriodMs: 2 * 86_400_000 });
    const store = await openStore(options);
    assert.equal(store.metrics().parts, 5);
    await store.applyRetention(NOW_MS);
    // Cutoff is noon two days ago: the partition of 2 days ago still holds data newer than it.
    assert.deepEqual(await store.labelValues('fake', 'age', 0n, 1n << 62n), ['0', '1', '2']);
    assert.equal(store.metrics().parts, 3);
    await store.close();
    const objectStore = openObjectStore({ backend: 'filesystem', directory: join(dir.path, 'objects') });
    const days = new Set((await objectStore.list('tenants/fake/')).map((key) => key.split('/')[2]));
    assert.deepEqual([...days].sort(), [dayName(2), dayName(1), dayName(0)]);
    await objectStore.close();
    const reopened = await openStore(options);
    assert.equal((await readAll(reopened, 'fake')).length, 3);
    await reopened.close();
  } finally {
    await dir.remove();
  }
});

test('retention off (0) keeps everything; expired entries still in the head are not persisted', async () => {
  const dir = await makeTempDir('store-retention-off');
  try {
    const keepAll = await openStore(testOptions(dir.path));
    await keepAll.append('fake', [{ labels: { job: 'old' }, entries: [{ timestampNs: 1_000_000_000n, line: '1970' }] }]);
    await keepAll.flush();
    await keepAll.applyRetention(NOW_MS);
    assert.deepEqual(await readAll(keepAll, 'fake'), ['1000000000 1970']);
    await keepAll.close();
    const withRetention = await openStore(testOptions(dir.path, { retentionPeriodMs: 86_400_000 }));
    await withRetention.append('fake', [{ labels: { job: 'late' }, entries: [{ timestampNs: 2_000_000_000n, line: 'ancient late arrival' }] }]);
    await withRetention.flush();
    assert.deepEqual(await readAll(withRetention, 'fake', [{ name: 'job', type: '=', value: 'late' }]), []);
    await withRetention.applyRetention();
    assert.deepEqual(await readAll(withRetention, 'fake'), []);
    await withRetention.close();
  } finally {
    await dir.remove();
  }
});
