import assert from 'node:assert/strict';
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openObjectStore } from '../../src/objstore/open-object-store.ts';
import { mergeBlocks } from '../../src/store/block-merge.ts';
import { parseObjectKey, partDataKey } from '../../src/store/object-keys.ts';
import { decodePartIndex } from '../../src/store/part-index.ts';
import { planCompaction } from '../../src/store/compaction.ts';
import type { PartMeta } from '../../src/store/part-index.ts';
import type { Partition } from '../../src/store/partition.ts';
import { openStore } from '../../src/store/store.ts';
import type { AppendStream } from '../../src/store/types.ts';
import { DAY_START_NS, linesOf, makeTempDir, readAll, testOptions } from './store-fixture.ts';

function batch(from: number, to: number, job = 'train'): AppendStream[] {
  const entries = [];
  for (let i = from; i < to; i++) entries.push({ timestampNs: DAY_START_NS + BigInt(i) * 1000n, line: `step ${i}` });
  return [{ labels: { job }, entries }];
}

async function partKeys(dataDir: string): Promise<string[]> {
  const store = openObjectStore({ backend: 'filesystem', directory: join(dataDir, 'objects') });
  const keys = (await store.list('tenants/')).filter((key) => key.includes('/parts/'));
  await store.close();
  return keys;
}

test('compaction merges small parts and drops exact duplicates (same stream, timestamp and line)', async () => {
  const dir = await makeTempDir('store-compact');
  try {
    const options = testOptions(dir.path, { blockTargetBytes: 1024 });
    const store = await openStore(options);
    await store.append('fake', batch(0, 100));
    await store.flush();
    // A client retry re-sends a batch that was already persisted...
    await store.append('fake', batch(50, 150));
    // ...and one that is still in the head.
    await store.append('fake', batch(140, 150));
    // Distinct lines at one timestamp are not duplicates and must survive.
    await store.append('fake', [{ labels: { job: 'train' }, entries: [{ timestampNs: DAY_START_NS, line: 'same ts, other line' }] }]);
    await store.flush();
    await store.append('fake', batch(0, 10, 'eval'));
    await store.flush();
    assert.equal(store.metrics().parts, 3);
    const before = await readAll(store, 'fake');
    await store.compact();
    assert.equal(store.metrics().parts, 1);
    const after = await readAll(store, 'fake');
    const expected = [
      ...Array.from({ length: 150 }, (_, i) => `${DAY_START_NS + BigInt(i) * 1000n} step ${i}`),
      ...Array.from({ length: 10 }, (_, i) => `${DAY_START_NS + BigInt(i) * 1000n} step ${i}`),
      `${DAY_START_NS} same ts, other line`,
    ].sort();
    assert.deepEqual(after, expected);
    // Reads merged the overlapping parts and the head before compaction did: one copy either way.
    assert.deepEqual(before, expected);
    // 10 were dropped on append (the copy still in the head), 50 by compaction (the persisted copy).
    assert.deepEqual(store.metrics().duplicateEntriesDiscarded, [['fake', 60]]);
    await store.close();
    // Replaced parts are deleted on close (after their grace period elsewhere).
    assert.equal((await partKeys(dir.path)).length, 2, 'one data and one index object');
    const reopened = await openStore(options);
    assert.deepEqual(await readAll(reopened, 'fake'), expected);
    await reopened.close();
  } finally {
    await dir.remove();
  }
});

test('a compaction interrupted before deleting its inputs is finished on open, without duplicates', async () => {
  const dir = await makeTempDir('store-compact-crash');
  try {
    const options = testOptions(dir.path);
    const store = await openStore(options);
    await store.append('fake', batch(0, 10));
    await store.flush();
    await store.append('fake', batch(10, 20));
    await store.flush();
    const objects = join(dir.path, 'objects');
    const saved = join(dir.path, 'saved-objects');
    await cp(objects, saved, { recursive: true });
    await store.compact();
    await store.close();
    // Put the input parts back, as if the process died right after writing the merged part.
    await cp(saved, objects, { recursive: true });
    assert.equal((await partKeys(dir.path)).length, 6);
    const reopened = await openStore(options);
    assert.equal(reopened.metrics().parts, 1);
    assert.equal((await readAll(reopened, 'fake')).length, 20);
    await reopened.close();
    assert.equal((await partKeys(dir.path)).length, 2);
  } finally {
    await dir.remove();
  }
});

test('an interrupted part write (data without index) is removed on open', async () => {
  const dir = await makeTempDir('store-orphan');
  try {
    const options = testOptions(dir.path);
    const store = await openStore(options);
    await store.append('fake', batch(0, 10));
    await store.flush();
    await store.close();
    const objectStore = openObjectStore({ backend: 'filesystem', directory: join(dir.path, 'objects') });
    const [dataKey] = (await objectStore.list('tenants/')).filter((key) => key.endsWith('.data'));
    await objectStore.put(dataKey!.replace(/[^/]+\.data$/, '00000000000001-deadbeef0000.data'), Buffer.from('half-written'));
    await objectStore.close();
    const reopened = await openStore(options);
    assert.equal((await readAll(reopened, 'fake')).length, 10);
    await reopened.close();
    const remaining = await readdir(join(dir.path, 'objects', 'tenants', 'fake', '2025-11-21', 'parts'));
    assert.equal(remaining.length, 2);
  } finally {
    await dir.remove();
  }
});

test('mergeBlocks keeps order, metadata and first copies; drops duplicates in long equal-timestamp runs', () => {
  const stream = { id: 'x', labels: {} };
  const block = (entries: Array<[bigint, string]>) => {
    const lines = entries.map(([, line]) => line);
    const buffer = Buffer.from(lines.join(''));
    const lineEnds = new Uint32Array(lines.length);
    let end = 0;
    lines.forEach((line, i) => {
      end += Buffer.byteLength(line);
      lineEnds[i] = end;
    });
    return { stream, timestampsNs: BigInt64Array.from(entries.map(([ts]) => ts)), lines: buffer, lineEnds };
  };
  const run = Array.from({ length: 100 }, (_, i): [bigint, string] => [7n, `same-${i % 50}`]);
  const merged = mergeBlocks([block([[9n, 'late'], [10n, 'z']]), block([[1n, 'a'], ...run, [9n, 'late']])]);
  const data = { stream, ...merged.columns };
  assert.equal(merged.duplicatesDropped, 51);
  assert.deepEqual(linesOf(data), ['a', ...Array.from({ length: 50 }, (_, i) => `same-${i}`), 'late', 'z']);
  assert.deepEqual(Array.from(data.timestampsNs), [1n, ...Array(50).fill(7n), 9n, 10n]);
});

test('compaction leaves packed parts alone and merges parts with small blocks or overlapping streams', async () => {
  const dir = await makeTempDir('store-compact-policy');
  try {
    const store = await openStore(testOptions(dir.path, { blockTargetBytes: 1024 }));
    try {
      // Two parts of full ~1 KB blocks, one after the other in time: nothing to gain by rewriting them.
      await store.append('fake', batch(0, 400));
      await store.flush();
      await store.append('fake', batch(400, 800));
      await store.flush();
      await store.compact();
      assert.equal(store.metrics().parts, 2, 'packed, disjoint parts stay');
      // A third packed part that overlaps the first in time (late entries): it and the first merge.
      await store.append('fake', batch(200, 600, 'train').map((stream) => ({ ...stream, entries: stream.entries.map((entry) => ({ ...entry, line: `${entry.line} again` })) })));
      await store.flush();
      await store.compact();
      assert.equal(store.metrics().parts, 1, 'overlapping parts are merged (the middle part overlaps both)');
      // Two parts of tiny blocks (other streams): merged, the packed part left alone.
      await store.append('fake', batch(0, 5, 'eval'));
      await store.flush();
      await store.append('fake', batch(5, 10, 'eval'));
      await store.flush();
      assert.equal(store.metrics().parts, 3);
      await store.compact();
      assert.equal(store.metrics().parts, 2);
      assert.equal((await readAll(store, 'fake')).length, 800 + 400 + 10);
    } finally {
      await store.close();
    }
  } finally {
    await dir.remove();
  }
});

/** Every part on disk: per stream (by its `job` label), the stored bytes of its blocks, hex. */
async function storedBlocksByJob(dataDir: string): Promise<Map<string, string[]>> {
  const store = openObjectStore({ backend: 'filesystem', directory: join(dataDir, 'objects') });
  try {
    const byJob = new Map<string, string[]>();
    for (const key of await store.list('tenants/')) {
      const parsed = parseObjectKey(key);
      if (parsed?.kind !== 'part-index') continue;
      const part = decodePartIndex(await store.get(key), key);
      const data = await store.get(partDataKey(part.tenant, part.day, part.partId));
      for (const [streamId, blocks] of part.blocksByStream) {
        const job = part.streams.get(streamId)!.info.labels.job!;
        const list = byJob.get(job) ?? [];
        for (const block of blocks) list.push(data.subarray(block.offset, block.offset + block.length).toString('hex'));
        byJob.set(job, list);
      }
    }
    return byJob;
  } finally {
    await store.close();
  }
}

test('compaction copies full blocks no other block touches as they are, and merges the rest', async () => {
  const dir = await makeTempDir('store-compact-copy');
  try {
    const options = testOptions(dir.path, { blockTargetBytes: 1024 });
    const store = await openStore(options);
    // `train`: full blocks, disjoint in time across the two parts. `eval`: the same entries in both
    // parts (a retry), which makes the parts worth merging, and must be merged entry by entry.
    await store.append('fake', [...batch(0, 400), ...batch(0, 20, 'eval')]);
    await store.flush();
    await store.append('fake', [...batch(400, 800), ...batch(0, 20, 'eval')]);
    await store.flush();
    const before = await storedBlocksByJob(dir.path);
    assert.ok(before.get('train')!.length >= 4, 'train spans several blocks');
    assert.equal(before.get('eval')!.length, 2);
    await store.compact();
    assert.equal(store.metrics().parts, 1);
    // Closing deletes the replaced parts: what is left is the merged part.
    await store.close();
    const after = await storedBlocksByJob(dir.path);
    assert.deepEqual(after.get('train')!.sort(), before.get('train')!.sort(), 'train blocks copied byte for byte, none re-encoded');
    assert.equal(after.get('eval')!.length, 1, 'the two eval blocks merged into one');
    const reopened = await openStore(options);
    try {
      const lines = await readAll(reopened, 'fake');
      assert.equal(lines.length, 800 + 20, 'eval retry dropped, every train line kept');
      const evalLines = await readAll(reopened, 'fake', [{ name: 'job', type: '=', value: 'eval' }]);
      assert.deepEqual(evalLines, batch(0, 20, 'eval')[0]!.entries.map((entry) => `${entry.timestampNs} ${entry.line}`).sort());
    } finally {
      await reopened.close();
    }
  } finally {
    await dir.remove();
  }
});

test('a compaction plan keeps each stream within the per-stream merge budget (it is held decoded at once)', () => {
  const MB = 1024 * 1024;
  // Four parts of small blocks (all worth merging), each with 3 MB of stream a and 1 MB of stream b.
  const part = (index: number): PartMeta => {
    const block = (rawBytes: number) => ({ rawBytes, minTimeNs: BigInt(index) * 10n, maxTimeNs: BigInt(index) * 10n + 5n });
    const blocksByStream = new Map([
      ['a', [block(1 * MB), block(1 * MB), block(1 * MB)]],
      ['b', [block(1 * MB)]],
    ]);
    return { partId: `p${index}`, rawBytes: 4 * MB, blocks: [...blocksByStream.values()].flat(), blocksByStream } as unknown as PartMeta;
  };
  const partition = { parts: [0, 1, 2, 3].map(part) } as unknown as Partition;
  const cases: Array<[maxStreamMergeBytes: number, parts: number]> = [
    [Number.POSITIVE_INFINITY, 4],
    [9 * MB, 3],
    [8 * MB, 2],
    // The first two are merged whatever the budget: a plan needs two parts.
    [1 * MB, 2],
  ];
  for (const [maxStreamMergeBytes, parts] of cases) {
    const plan = planCompaction(partition, 64 * MB, 1024 * MB, 64 * MB, maxStreamMergeBytes);
    assert.equal(plan?.parts.length, parts, `budget ${maxStreamMergeBytes / MB} MB`);
  }
});

test('compaction drops the copy of a retried push whose one block spans several blocks of another part', async () => {
  const dir = await makeTempDir('store-compact-span');
  try {
    const store = await openStore(testOptions(dir.path, { blockTargetBytes: 1024 }));
    await store.append('fake', batch(0, 1000));
    await store.flush();
    // One block from entry 5 to entry 999: it overlaps the first block of the part before and its
    // last, with blocks in between that touch neither of its neighbours in time order.
    const [stream] = batch(0, 1000);
    await store.append('fake', [{ labels: stream!.labels, entries: [stream!.entries[5]!, stream!.entries[999]!] }]);
    await store.flush();
    await store.compact();
    assert.equal(store.metrics().parts, 1);
    assert.deepEqual(await readAll(store, 'fake'), Array.from({ length: 1000 }, (_, i) => `${DAY_START_NS + BigInt(i) * 1000n} step ${i}`).sort());
    assert.deepEqual(store.metrics().duplicateEntriesDiscarded, [['fake', 2]]);
    await store.close();
  } finally {
    await dir.remove();
  }
});

test("compaction does not merge a stream's blocks across a gap that another part of the stream fills", async () => {
  const dir = await makeTempDir('store-compact-gap');
  try {
    const store = await openStore(testOptions(dir.path, { blockTargetBytes: 1024 }));
    try {
      // Two parts with a few entries each (worth merging), and between them in time a part of full
      // blocks of the same stream (packed: left as it is).
      await store.append('fake', batch(0, 10));
      await store.flush();
      await store.append('fake', batch(100, 500));
      await store.flush();
      await store.append('fake', batch(600, 610));
      await store.flush();
      assert.equal(store.metrics().parts, 3);
      await store.compact();
      assert.equal(store.metrics().parts, 2, 'the two small parts merged, the packed one left');
      assert.equal((await readAll(store, 'fake')).length, 10 + 400 + 10);
    } finally {
      await store.close();
    }
    // The merged part keeps two blocks, one per side of the packed part: a block from entry 0 to 609
    // would overlap every block between, and reads merge overlapping blocks into one.
    const objects = openObjectStore({ backend: 'filesystem', directory: join(dir.path, 'objects') });
    try {
      const ranges: Array<[bigint, bigint]> = [];
      for (const key of await objects.list('tenants/')) {
        if (parseObjectKey(key)?.kind !== 'part-index') continue;
        const part = decodePartIndex(await objects.get(key), key);
        if (part.replaces.length === 0) continue;
        for (const block of part.blocks) ranges.push([(block.minTimeNs - DAY_START_NS) / 1000n, (block.maxTimeNs - DAY_START_NS) / 1000n]);
      }
      assert.deepEqual(
        ranges.sort((a, b) => Number(a[0] - b[0])),
        [
          [0n, 9n],
          [600n, 609n],
        ],
      );
    } finally {
      await objects.close();
    }
  } finally {
    await dir.remove();
  }
});
