import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { S3ObjectStore } from '../../src/objstore/s3-store.ts';
import { startS3rver, type RunningS3rver } from '../objstore/s3rver-fixture.ts';
import { ALL, flatten, HOUR_MS, T0, tempTsdb } from './tsdb-fixture.ts';

let s3: RunningS3rver;
before(async () => {
  s3 = await startS3rver();
});
after(async () => {
  await s3.stop();
});

test('TSDB on the S3 backend: blocks written, compacted, reopened and read back; the WAL stays local', async () => {
  const objectStore = new S3ObjectStore({
    backend: 's3',
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    region: 'us-east-1',
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    prefix: 'tsdb-test/',
  });
  const temp = await tempTsdb('s3', objectStore);
  try {
    let tsdb = await temp.open();
    const series = Array.from({ length: 50 }, (_, i) => ({ __name__: 'DCGM_FI_DEV_POWER_USAGE', gpu: String(i % 8), Hostname: `node${i >> 3}` }));
    for (let flush = 0; flush < 3; flush++) {
      for (let t = flush * 20 * 60_000; t < (flush + 1) * 20 * 60_000; t += 15_000) {
        await tsdb.append('fake', series.map((labels, i) => ({ labels, samples: [{ timestampMs: T0 + t, value: 200 + i + t / 1e5 }] })));
      }
      await tsdb.flush();
    }
    assert.equal(tsdb.blockMetas().length, 3);
    assert.equal(await tsdb.compact(), 1);
    assert.equal(tsdb.blockMetas().length, 1);
    const before = flatten(await tsdb.select('fake', { matchers: ALL, startMs: 0, endMs: T0 + HOUR_MS }));
    assert.equal(Object.keys(before).length, 50);
    await tsdb.close();
    assert.deepEqual((await readdir(temp.dir)).sort(), ['wal'], 'only the WAL on local disk');
    tsdb = await temp.open();
    assert.deepEqual(flatten(await tsdb.select('fake', { matchers: ALL, startMs: 0, endMs: T0 + HOUR_MS })), before);
    assert.deepEqual(await tsdb.labelValues('fake', 'Hostname', 0, T0 + HOUR_MS), ['node0', 'node1', 'node2', 'node3', 'node4', 'node5', 'node6']);
    await tsdb.close();
  } finally {
    await objectStore.close();
    await temp.cleanup();
  }
});
