import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { openStore } from '../../src/store/store.ts';
import { startS3rver, type RunningS3rver } from '../objstore/s3rver-fixture.ts';
import { DAY_START_NS, makeTempDir, readAll, testOptions } from './store-fixture.ts';

let s3: RunningS3rver;
before(async () => {
  s3 = await startS3rver();
});
after(async () => {
  await s3.stop();
});

test('store on the S3 backend: write, close, reopen and read back; WAL stays on local disk', async () => {
  const dir = await makeTempDir('store-s3');
  try {
    const options = testOptions(dir.path, {
      objectStore: {
        backend: 's3',
        endpoint: s3.endpoint,
        bucket: s3.bucket,
        region: 'us-east-1',
        forcePathStyle: true,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        prefix: 'store-test/',
      },
    });
    const store = await openStore(options);
    const lines = Array.from({ length: 500 }, (_, i) => `rank=${i % 4} step=${i} loss=${(3 - i / 500).toFixed(3)}`);
    for (let i = 0; i < lines.length; i += 100) {
      await store.append('fake', [{ labels: { job: 'train' }, entries: lines.slice(i, i + 100).map((line, k) => ({ timestampNs: DAY_START_NS + BigInt(i + k), line })) }]);
      await store.flush();
    }
    assert.equal(store.metrics().parts, 5);
    await store.compact();
    assert.equal(store.metrics().parts, 1);
    await store.append('fake', [{ labels: { job: 'train' }, entries: [{ timestampNs: DAY_START_NS + 1000n, line: 'appended last, flushed by close' }] }]);
    await store.close();
    assert.deepEqual((await readdir(dir.path)).sort(), ['wal'], 'no objects on local disk with the S3 backend');

    const reopened = await openStore(options);
    const expected = [...lines.map((line, i) => `${DAY_START_NS + BigInt(i)} ${line}`), `${DAY_START_NS + 1000n} appended last, flushed by close`].sort();
    assert.deepEqual(await readAll(reopened, 'fake'), expected);
    const needle = await reopened.selectBlocks({
      tenant: 'fake',
      matchers: [{ name: 'job', type: '=', value: 'train' }],
      startNs: 0n,
      endNs: 1n << 62n,
      requiredLiterals: [{ literal: 'appended last', caseInsensitive: false }],
    });
    assert.equal(needle.length, 1);
    await reopened.close();
  } finally {
    await dir.remove();
  }
});
