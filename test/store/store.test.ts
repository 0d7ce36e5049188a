import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openBlockReader } from '../../src/store/block-reader.ts';
import { openStore } from '../../src/store/store.ts';
import type { LabelMatcher, Labels, LogStore } from '../../src/store/types.ts';
import { DAY_START_NS, NS_PER_SECOND, entriesOf, makeTempDir, readAll, testOptions } from './store-fixture.ts';

const ALL_TIME = { startNs: 0n, endNs: 1n << 62n };

async function withStore(name: string, overrides: Parameters<typeof testOptions>[1], body: (store: LogStore, dataDir: string) => Promise<void>) {
  const dir = await makeTempDir(name);
  try {
    const store = await openStore(testOptions(dir.path, overrides));
    try {
      await body(store, dir.path);
    } finally {
      await store.close();
    }
  } finally {
    await dir.remove();
  }
}

test('appends are readable from the head, then from parts after flush, then after reopen', async () => {
  const dir = await makeTempDir('store-basic');
  try {
    const options = testOptions(dir.path);
    const store = await openStore(options);
    await store.append('fake', [
      { labels: { job: 'train', rank: '0' }, entries: [{ timestampNs: DAY_START_NS + 1n, line: 'rank0 step=1' }] },
      { labels: { job: 'train', rank: '1' }, entries: [{ timestampNs: DAY_START_NS + 2n, line: 'rank1 step=1' }] },
    ]);
    await store.append('other-tenant', [{ labels: { job: 'train', rank: '0' }, entries: [{ timestampNs: DAY_START_NS, line: 'not yours' }] }]);
    const expected = [`${DAY_START_NS + 1n} rank0 step=1`, `${DAY_START_NS + 2n} rank1 step=1`];
    assert.deepEqual(await readAll(store, 'fake'), expected);
    assert.equal(store.metrics().parts, 0);
    assert.equal(store.metrics().headStreams, 3);
    await store.flush();
    assert.deepEqual(store.metrics().headStreams, 0);
    assert.ok(store.metrics().parts >= 2, 'one part per tenant partition');
    const refs = await store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'job', type: '=', value: 'train' }], ...ALL_TIME });
    assert.ok(refs.every((ref) => ref.location !== undefined), 'flushed blocks have a location for worker threads');
    assert.deepEqual(await readAll(store, 'fake'), expected);
    await store.close();
    const reopened = await openStore(options);
    assert.deepEqual(await readAll(reopened, 'fake'), expected);
    assert.deepEqual(await readAll(reopened, 'other-tenant'), [`${DAY_START_NS} not yours`]);
    await reopened.close();
  } finally {
    await dir.remove();
  }
});

test('out-of-order entries are accepted and read back sorted, also across late parts', async () => {
  await withStore('store-order', {}, async (store) => {
    const labels = { job: 'train', rank: '3' };
    const order = [5, 1, 4, 2, 3];
    for (const i of order) await store.append('fake', [{ labels, entries: [{ timestampNs: DAY_START_NS + BigInt(i) * NS_PER_SECOND, line: `line ${i}` }] }]);
    const [head] = await store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'rank', type: '=', value: '3' }], ...ALL_TIME });
    const headData = await head!.load();
    assert.deepEqual(Array.from(headData.timestampsNs), [1, 2, 3, 4, 5].map((i) => DAY_START_NS + BigInt(i) * NS_PER_SECOND));
    await store.flush();
    // A late entry, older than everything persisted, becomes a new part.
    await store.append('fake', [{ labels, entries: [{ timestampNs: DAY_START_NS, line: 'late' }] }]);
    await store.flush();
    const refs = await store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'rank', type: '=', value: '3' }], ...ALL_TIME });
    assert.equal(refs.length, 2);
    const timestamps = (await entriesOf(refs)).map((entry) => entry.timestampNs).sort((a, b) => (a < b ? -1 : 1));
    assert.deepEqual(timestamps, [0, 1, 2, 3, 4, 5].map((i) => DAY_START_NS + BigInt(i) * NS_PER_SECOND));
    for (const ref of refs) {
      const data = await ref.load();
      for (let i = 1; i < data.timestampsNs.length; i++) assert.ok(data.timestampsNs[i - 1]! <= data.timestampsNs[i]!, 'each block is sorted');
    }
  });
});

test('entries spanning two UTC days land in two partitions; time ranges prune partitions and blocks', async () => {
  await withStore('store-days', {}, async (store) => {
    const labels = { job: 'train' };
    const day = 86_400n * NS_PER_SECOND;
    await store.append('fake', [{ labels, entries: [{ timestampNs: DAY_START_NS + day - 1n, line: 'late evening' }, { timestampNs: DAY_START_NS + day, line: 'midnight' }] }]);
    await store.flush();
    assert.equal(store.metrics().parts, 2);
    const firstDay = await store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'job', type: '=', value: 'train' }], startNs: DAY_START_NS, endNs: DAY_START_NS + day });
    assert.deepEqual((await entriesOf(firstDay)).map((entry) => entry.line), ['late evening']);
    const secondDay = await store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'job', type: '=', value: 'train' }], startNs: DAY_START_NS + day, endNs: DAY_START_NS + 2n * day });
    assert.deepEqual((await entriesOf(secondDay)).map((entry) => entry.line), ['midnight']);
    assert.deepEqual(await store.series('fake', [], DAY_START_NS + 2n * day, DAY_START_NS + 3n * day), []);
  });
});

test('label index answers labelNames, labelValues and series with all four matcher types', async () => {
  await withStore('store-labels', {}, async (store) => {
    const streams: Labels[] = [
      { job: 'train', rank: '0', node: 'gpu-a' },
      { job: 'train', rank: '1', node: 'gpu-a' },
      { job: 'train', rank: '10', node: 'gpu-b' },
      { job: 'eval', rank: '0' },
    ];
    await store.append('fake', streams.map((labels, i) => ({ labels, entries: [{ timestampNs: DAY_START_NS + BigInt(i), line: `s${i}` }] })));
    // Half in parts, half in the head: answers must be the same.
    await store.flush();
    await store.append('fake', [{ labels: { job: 'train', rank: '2', node: 'gpu-b', pod: 'p-2' }, entries: [{ timestampNs: DAY_START_NS + 9n, line: 'head only' }] }]);
    const cases: Array<[LabelMatcher[], string[]]> = [
      [[{ name: 'job', type: '=', value: 'train' }], ['0', '1', '10', '2']],
      [[{ name: 'job', type: '!=', value: 'train' }], ['0']],
      [[{ name: 'rank', type: '=~', value: '1.*' }], ['1', '10']],
      [[{ name: 'rank', type: '=~', value: '1' }], ['1']], // anchored: "10" does not match "1"
      [[{ name: 'job', type: '=', value: 'train' }, { name: 'rank', type: '!~', value: '1|2' }], ['0', '10']],
      [[{ name: 'node', type: '=', value: '' }], ['0']], // only the stream without a node label
      [[{ name: 'node', type: '!=', value: '' }, { name: 'node', type: '=~', value: '(?i)GPU-B' }], ['10', '2']],
      [[{ name: 'pod', type: '!~', value: '.+' }], ['0', '0', '1', '10']],
    ];
    for (const [matchers, ranks] of cases) {
      const series = await store.series('fake', matchers, ALL_TIME.startNs, ALL_TIME.endNs);
      assert.deepEqual(series.map((s) => s.labels.rank).sort(), ranks, JSON.stringify(matchers));
      for (const s of series) assert.match(s.id, /^[0-9a-f]{32}$/);
    }
    assert.deepEqual(await store.labelNames('fake', ALL_TIME.startNs, ALL_TIME.endNs), ['job', 'node', 'pod', 'rank']);
    assert.deepEqual(await store.labelNames('fake', ALL_TIME.startNs, ALL_TIME.endNs, [{ name: 'job', type: '=', value: 'eval' }]), ['job', 'rank']);
    assert.deepEqual(await store.labelValues('fake', 'rank', ALL_TIME.startNs, ALL_TIME.endNs), ['0', '1', '10', '2']);
    assert.deepEqual(await store.labelValues('fake', 'node', ALL_TIME.startNs, ALL_TIME.endNs, [{ name: 'rank', type: '=', value: '0' }]), ['gpu-a']);
    assert.deepEqual(await store.labelValues('fake', 'rank', DAY_START_NS + 9n, DAY_START_NS + 10n), ['2'], 'time range narrows values');
    assert.deepEqual(await store.labelNames('nobody', ALL_TIME.startNs, ALL_TIME.endNs), []);
    await assert.rejects(store.series('fake', [{ name: 'rank', type: '=~', value: '(' }], 0n, 1n), /invalid regex/);
  });
});

test('stream ids are stable across tenants, label order and restarts', async () => {
  const dir = await makeTempDir('store-ids');
  try {
    const options = testOptions(dir.path);
    const store = await openStore(options);
    await store.append('a', [{ labels: { x: '1', y: '2' }, entries: [{ timestampNs: DAY_START_NS, line: 'l' }] }]);
    await store.append('a', [{ labels: { y: '2', x: '1' }, entries: [{ timestampNs: DAY_START_NS + 1n, line: 'l' }] }]);
    await store.append('b', [{ labels: { x: '1', y: '2' }, entries: [{ timestampNs: DAY_START_NS, line: 'l' }] }]);
    // Tenant ids that are not safe as object-key segments are encoded, and survive a restart.
    await store.append('../team a/b', [{ labels: { x: '1' }, entries: [{ timestampNs: DAY_START_NS, line: 'odd tenant' }] }]);
    const [inA] = await store.series('a', [], ALL_TIME.startNs, ALL_TIME.endNs);
    const [inB] = await store.series('b', [], ALL_TIME.startNs, ALL_TIME.endNs);
    assert.equal((await store.series('a', [], ALL_TIME.startNs, ALL_TIME.endNs)).length, 1, 'label order does not make a new stream');
    assert.notEqual(inA!.id, inB!.id);
    await store.close();
    const reopened = await openStore(options);
    assert.equal((await reopened.series('a', [], ALL_TIME.startNs, ALL_TIME.endNs))[0]!.id, inA!.id);
    assert.deepEqual(await readAll(reopened, '../team a/b', [{ name: 'x', type: '=', value: '1' }]), [`${DAY_START_NS} odd tenant`]);
    await reopened.close();
  } finally {
    await dir.remove();
  }
});

test('heads over the memory budget are cut early, largest first; every entry stays readable', async () => {
  await withStore('store-budget', { headBudgetBytes: 40_000 }, async (store) => {
    const line = 'y'.repeat(100);
    // One big stream and a few small ones: the big one goes first, the small ones stay in memory.
    for (let i = 0; i < 50; i++) {
      await store.append('fake', [
        { labels: { job: 'big' }, entries: Array.from({ length: 10 }, (_, k) => ({ timestampNs: DAY_START_NS + BigInt(i * 10 + k), line })) },
        ...(i < 3 ? [0, 1, 2].map((n) => ({ labels: { job: `small${n}` }, entries: [{ timestampNs: DAY_START_NS + BigInt(i), line: `small ${n} ${i}` }] })) : []),
      ]);
      // Heads and the generation being cut share the budget: an append waits for the cut once they
      // hold it, so they pass it by one append at most.
      const { headBytes, cuttingBytes = 0 } = store.metrics();
      assert.ok(headBytes + cuttingBytes <= 40_000 + 10 * 100 + 3 * 20, `heads ${headBytes} + cutting ${cuttingBytes} stay within the budget and one append`);
    }
    const deadline = Date.now() + 10_000;
    while (store.metrics().parts === 0 && Date.now() < deadline) await sleep(20);
    assert.ok(store.metrics().parts >= 1);
    assert.ok(store.metrics().headBytes <= 40_000);
    const persisted = await store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'job', type: '=~', value: 'small.' }], ...ALL_TIME });
    assert.ok(persisted.every((ref) => ref.location === undefined), 'the small streams were not cut');
    assert.equal((await readAll(store, 'fake')).length, 500 + 9);
  });
});

test('head is cut into a part by size, and by age', async () => {
  await withStore('store-cut-size', { headCutBytes: 20_000 }, async (store) => {
    for (let i = 0; i < 30; i++) {
      await store.append('fake', [{ labels: { job: 'size' }, entries: Array.from({ length: 10 }, (_, k) => ({ timestampNs: DAY_START_NS + BigInt(i * 10 + k), line: 'x'.repeat(100) })) }]);
    }
    // 30 KB appended past a 20 KB threshold: a background cut must have produced a part.
    const deadline = Date.now() + 10_000;
    while (store.metrics().parts === 0 && Date.now() < deadline) await sleep(20);
    assert.ok(store.metrics().parts >= 1);
    assert.equal((await readAll(store, 'fake')).length, 300);
  });
  await withStore('store-cut-age', { headCutAgeMs: 200 }, async (store) => {
    await store.append('fake', [{ labels: { job: 'age' }, entries: [{ timestampNs: DAY_START_NS, line: 'tiny' }] }]);
    assert.equal(store.metrics().parts, 0);
    const deadline = Date.now() + 10_000;
    while (store.metrics().parts === 0 && Date.now() < deadline) await sleep(20);
    assert.equal(store.metrics().parts, 1);
    assert.equal(store.metrics().headStreams, 0);
    assert.deepEqual(await readAll(store, 'fake'), [`${DAY_START_NS} tiny`]);
  });
});

test('needle queries skip blocks by token filter and never miss a match', async () => {
  await withStore('store-needle', { blockTargetBytes: 8 * 1024 }, async (store) => {
    const entries = [];
    for (let i = 0; i < 4000; i++) {
      const line = i === 2500 ? 'RuntimeError: NCCL watchdog timeout on rank 3' : `step=${i} loss=${(2 - i / 4000).toFixed(4)} lr=3e-05`;
      entries.push({ timestampNs: DAY_START_NS + BigInt(i) * 1000n, line });
    }
    await store.append('fake', [{ labels: { job: 'train' }, entries }]);
    await store.flush();
    const matchers: LabelMatcher[] = [{ name: 'job', type: '=', value: 'train' }];
    const all = await store.selectBlocks({ tenant: 'fake', matchers, ...ALL_TIME });
    assert.ok(all.length > 10, `expected many blocks, got ${all.length}`);
    for (const [literal, caseInsensitive] of [['NCCL watchdog', false], ['nccl WATCHDOG', true], ['watchdog timeout', false], ['Error:', false]] as const) {
      const picked = await store.selectBlocks({ tenant: 'fake', matchers, ...ALL_TIME, requiredLiterals: [{ literal, caseInsensitive }] });
      assert.equal(picked.length, 1, `${literal} should keep exactly the one block with the error`);
      assert.ok((await entriesOf(picked)).some((entry) => entry.line.includes('NCCL watchdog timeout')));
    }
    const none = await store.selectBlocks({ tenant: 'fake', matchers, ...ALL_TIME, requiredLiterals: [{ literal: 'Traceback', caseInsensitive: false }] });
    assert.equal(none.length, 0);
    // Two literals must both be possible.
    const both = await store.selectBlocks({ tenant: 'fake', matchers, ...ALL_TIME, requiredLiterals: [{ literal: 'loss', caseInsensitive: false }, { literal: 'NCCL', caseInsensitive: false }] });
    assert.ok(both.length <= 1);
    // Short literals cannot be pruned by trigrams, so every block stays.
    const short = await store.selectBlocks({ tenant: 'fake', matchers, ...ALL_TIME, requiredLiterals: [{ literal: 'lr', caseInsensitive: false }] });
    assert.equal(short.length, all.length);
  });
});

test('stats and metrics count streams, blocks, entries and bytes', async () => {
  await withStore('store-stats', {}, async (store) => {
    await store.append('fake', [
      { labels: { job: 'a' }, entries: [{ timestampNs: DAY_START_NS, line: '12345' }, { timestampNs: DAY_START_NS + 1n, line: '678' }] },
      { labels: { job: 'b' }, entries: [{ timestampNs: DAY_START_NS, line: 'xy' }] },
    ]);
    assert.deepEqual(await store.stats('fake', [{ name: 'job', type: '=~', value: 'a|b' }], ALL_TIME.startNs, ALL_TIME.endNs), { streams: 2, chunks: 2, entries: 3, bytes: 10 });
    await store.flush();
    assert.deepEqual(await store.stats('fake', [{ name: 'job', type: '=', value: 'a' }], ALL_TIME.startNs, ALL_TIME.endNs), { streams: 1, chunks: 1, entries: 2, bytes: 8 });
    const metrics = store.metrics();
    assert.ok(metrics.walFsyncSeconds.count >= 1);
    assert.ok(metrics.walFsyncSeconds.buckets.at(-1)![1] <= metrics.walFsyncSeconds.count);
    assert.ok(metrics.diskBytes > 0);
    assert.equal(metrics.parts, 1);
  });
});

test('append rejects malformed input with a clear error and keeps working', async () => {
  await withStore('store-bad', {}, async (store) => {
    await assert.rejects(store.append('fake', [{ labels: { job: 'x' }, entries: [{ timestampNs: 5 as unknown as bigint, line: 'x' }] }]), /stream 0 entry 0: timestampNs must be a bigint/);
    await assert.rejects(store.append('', [{ labels: { job: 'x' }, entries: [] }]), /tenant/);
    await store.append('fake', [{ labels: { job: 'x' }, entries: [] }]);
    await store.append('fake', [{ labels: { job: 'x' }, entries: [{ timestampNs: DAY_START_NS, line: 'ok' }] }]);
    assert.deepEqual(await readAll(store, 'fake'), [`${DAY_START_NS} ok`]);
  });
});

test('queries running while a head is cut see every entry exactly once', async () => {
  await withStore('store-cut-visibility', { blockTargetBytes: 4096 }, async (store) => {
    for (let stream = 0; stream < 8; stream++) {
      const entries = Array.from({ length: 1000 }, (_, i) => ({ timestampNs: DAY_START_NS + BigInt(i), line: `stream ${stream} entry ${i}` }));
      await store.append('fake', [{ labels: { job: 'train', rank: String(stream) }, entries }]);
    }
    let done = false;
    const flushing = store.flush().then(() => {
      done = true;
    });
    let checks = 0;
    // Bounded: the flush finishes; each pass yields to it.
    while (!done && checks < 10_000) {
      const all = await readAll(store, 'fake');
      assert.equal(all.length, 8000, `pass ${checks}: ${all.length} entries visible`);
      checks++;
      await sleep(0);
    }
    await flushing;
    assert.ok(checks > 0);
    assert.equal((await readAll(store, 'fake')).length, 8000);
    assert.equal(store.metrics().headStreams, 0);
  });
});

test('overlapping blocks from different sources are read as one merged block without exact duplicates', async () => {
  await withStore('store-merge', {}, async (store) => {
    const push = (from: number, to: number, extra: string[] = []) =>
      store.append('fake', [
        {
          labels: { job: 'merge' },
          entries: [
            ...Array.from({ length: to - from }, (_, i) => ({ timestampNs: DAY_START_NS + BigInt(from + i), line: `line ${from + i}` })),
            ...extra.map((line) => ({ timestampNs: DAY_START_NS + BigInt(from), line })),
          ],
        },
        // A stream whose parts follow each other in time: its blocks pass through unmerged.
        { labels: { job: 'follow' }, entries: [{ timestampNs: DAY_START_NS + 1000n + BigInt(from), line: `follow ${from}` }] },
      ]);
    const expected = Array.from({ length: 30 }, (_, i) => `${DAY_START_NS + BigInt(i)} line ${i}`);
    expected.push(`${DAY_START_NS + 10n} same timestamp, other line`);
    expected.sort();
    const mergeOnly = [{ name: 'job', type: '=' as const, value: 'merge' }];
    await push(0, 20);
    await store.flush();
    // Part + head: the retry of 10..19 lands in the head beside the new 20..29.
    await push(10, 30, ['same timestamp, other line']);
    assert.deepEqual(await readAll(store, 'fake', mergeOnly), expected);
    const refs = await store.selectBlocks({ tenant: 'fake', matchers: mergeOnly, ...ALL_TIME });
    assert.equal(refs.length, 1, 'one merged ref');
    assert.equal(refs[0]!.location, undefined, 'part of it is in memory');
    // Part + part: the merged ref carries every location, and a worker-side reader merges them too.
    await store.flush();
    assert.deepEqual(await readAll(store, 'fake', mergeOnly), expected);
    const partRefs = await store.selectBlocks({ tenant: 'fake', matchers: mergeOnly, ...ALL_TIME });
    assert.equal(partRefs.length, 1);
    assert.equal(partRefs[0]!.location?.mergeWith?.length, 1);
    const reader = openBlockReader(store.blockReaderConfig!()!);
    const merged = await reader.read(partRefs[0]!.location!, partRefs[0]!.stream);
    assert.deepEqual(
      (await entriesOf([{ ...partRefs[0]!, load: () => Promise.resolve(merged) }])).map((entry) => `${entry.timestampNs} ${entry.line}`).sort(),
      expected,
    );
    const follow = await store.selectBlocks({ tenant: 'fake', matchers: [{ name: 'job', type: '=', value: 'follow' }], ...ALL_TIME });
    assert.equal(follow.length, 2, 'disjoint parts stay separate refs');
    assert.ok(follow.every((ref) => ref.location !== undefined && ref.location.mergeWith === undefined));
    assert.deepEqual(store.metrics().duplicateEntriesDiscarded, [], 'drops against parts are not head drops');
  });
});
