import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openObjectStore } from '../../src/objstore/open-object-store.ts';
import { BlockDecodeError, decodeBlock, isMemberBlock, type BlockColumns } from '../../src/store/block.ts';
import { sliceColumns } from '../../src/store/block-slice.ts';
import { decodePartIndex } from '../../src/store/part-index.ts';
import { mayContain } from '../../src/store/token-filter.ts';
import { openStore } from '../../src/store/store.ts';
import { naturalCompare } from '../../src/store/part-writer.ts';
import { encodeReferenceFrames } from '../../src/store/reference-frames.ts';
import { decodeFrame, encodeGroupFrames, groupItems, memberOfColumns, streamGroupKey, DEFAULT_STREAM_GROUPING, type GroupMember, type StreamGrouping } from '../../src/store/stream-group.ts';
import type { AppendStream, Labels } from '../../src/store/types.ts';
import { generateTrainingLog, syntheticLabels } from '../../bench/synthetic-log.ts';
import { DAY_START_NS, linesOf, makeTempDir, readAll, testOptions } from './store-fixture.ts';

/** The first `bytes` of the benchmarks' 8-rank training log, one stream per rank and launcher. */
function trainingStreams(bytes: number): AppendStream[] {
  const streams = new Map<string, AppendStream>();
  let total = 0;
  for (const entry of generateTrainingLog({ seed: 7 })) {
    const labels = syntheticLabels(entry);
    const key = JSON.stringify(labels);
    let stream = streams.get(key);
    if (stream === undefined) streams.set(key, (stream = { labels, entries: [] }));
    stream.entries.push({ timestampNs: entry.timestampNs, line: entry.line });
    total += entry.line.length;
    if (total >= bytes) break;
  }
  return [...streams.values()];
}

/** A deterministic generator, so every run checks the same data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/**
 * Rank-like lines: every rank prints step i at about the same moment with the same step, time and
 * learning rate text and numbers of its own (loss, throughput), as ranks of one job do; now and then
 * a multi-byte line or an empty one.
 */
function rankLines(rank: number, count: number, seed: number): Array<{ timestampNs: bigint; line: string }> {
  const next = random(seed * 31 + rank);
  const entries = [];
  for (let i = 0; i < count; i++) {
    // Ranks print each step within 1 ms of each other; some lines share a timestamp (coarse clocks).
    const timeNs = DAY_START_NS + BigInt(i) * 5_000_000n + (next() < 0.1 ? 0n : BigInt(Math.floor(next() * 1_000_000)));
    const kind = next();
    const line =
      kind < 0.02
        ? ''
        : kind < 0.05
          ? `[rank${rank}] ünïcödé ✓ step ${i} ${'x'.repeat(Math.floor(next() * 600))}`
          : `[rank${rank}]:2025-11-21 08:${String(Math.floor(i / 1200) % 60).padStart(2, '0')}:${String(Math.floor(i / 20) % 60).padStart(2, '0')} - INFO - train.py:214 - step ${i}/100000 | loss ${(2 + next()).toFixed(4)} | lr 3.00e-04 | grad_norm ${(0.3 + next() / 4).toFixed(3)} | tokens/s ${Math.floor(40000 + next() * 9999)}`;
    entries.push({ timestampNs: timeNs, line });
  }
  return entries;
}

function columnsOf(entries: ReadonlyArray<{ timestampNs: bigint; line: string }>): BlockColumns {
  const timestampsNs = BigInt64Array.from(entries.map((entry) => entry.timestampNs));
  const parts = entries.map((entry) => Buffer.from(entry.line, 'utf8'));
  const lineEnds = new Uint32Array(entries.length);
  let end = 0;
  parts.forEach((part, i) => (lineEnds[i] = end += part.length));
  return { timestampsNs, lines: Buffer.concat(parts), lineEnds };
}

test('stream group keys leave out the rank, host and pod labels; other streams are never grouped', () => {
  const grouping = DEFAULT_STREAM_GROUPING;
  assert.equal(streamGroupKey({ job: 'train', host: 'node-0', rank: '0' }, grouping), streamGroupKey({ rank: '7', job: 'train', host: 'node-1' }, grouping));
  // What `rankscope run` labels a torchrun rank with: the node index comes as group_rank too.
  const torchrun = (node: number, local: number) => ({ job: 'train', run_id: 'r1', world_size: '8', host: `node-${node}`, group_rank: String(node), node_rank: String(node), local_rank: String(local), rank: String(node * 4 + local) });
  assert.equal(streamGroupKey(torchrun(0, 0), grouping), streamGroupKey(torchrun(1, 3), grouping));
  assert.notEqual(streamGroupKey({ job: 'train', rank: '0' }, grouping), streamGroupKey({ job: 'eval', rank: '0' }, grouping));
  assert.equal(streamGroupKey({ job: 'train', app: 'x' }, grouping), undefined);
  assert.equal(streamGroupKey({ job: 'train', rank: '0' }, { ...grouping, maxMembers: 1 }), undefined);
  const labels: Labels[] = Array.from({ length: 20 }, (_, rank) => ({ job: 'train', rank: String(rank) }));
  labels.push({ job: 'other' });
  const groups = groupItems(labels, (item) => streamGroupKey(item, grouping), 8);
  assert.deepEqual(
    groups.map((group) => group.length),
    [8, 8, 4, 1],
  );
});

const LAYOUTS = {
  shared: (members: readonly GroupMember[], frameTargetBytes: number) => encodeGroupFrames(members, frameTargetBytes),
  reference: encodeReferenceFrames,
};

for (const [layout, encodeFrames] of Object.entries(LAYOUTS)) {
  test(`${layout} frames give every member back exactly its entries, frame by frame`, () => {
    const members = Array.from({ length: 8 }, (_, rank) => columnsOf(rankLines(rank, 3000 + rank * 100, 11)));
    // A small target makes several frames, so members' blocks split at frame boundaries.
    const frames = encodeFrames(members.map(memberOfColumns), 200 * 1024);
    assert.ok(frames.length >= 3, `${frames.length} frames`);
    const seen = members.map(() => ({ entries: 0, lines: [] as Buffer[], times: [] as bigint[] }));
    for (const frame of frames) {
      const lines = decodeFrame(frame.bytes);
      if (layout === 'shared') assert.equal(lines.length, frame.rawBytes);
      for (const { member, block } of frame.blocks) {
        assert.ok(isMemberBlock(block.bytes));
        const data = decodeBlock(block.bytes, { id: `m${member}`, labels: {} }, lines);
        assert.equal(data.timestampsNs.length, block.entryCount);
        assert.equal(data.lines.length, block.rawBytes);
        assert.equal(data.timestampsNs[0], block.minTimeNs);
        assert.equal(data.timestampsNs[data.timestampsNs.length - 1], block.maxTimeNs);
        seen[member]!.entries += data.timestampsNs.length;
        seen[member]!.lines.push(data.lines);
        seen[member]!.times.push(...data.timestampsNs);
        // The member's lines are whole lines: its own lengths column splits them.
        assert.equal(linesOf(data).join(''), data.lines.toString('utf8'));
      }
    }
    members.forEach((columns, m) => {
      assert.equal(seen[m]!.entries, columns.timestampsNs.length);
      assert.ok(Buffer.concat(seen[m]!.lines).equals(columns.lines), `member ${m} lines`);
      assert.deepEqual(seen[m]!.times, [...columns.timestampsNs]);
    });
    // The frames hold what the ranks share once: smaller than the members' own blocks would be.
    const grouped = frames.reduce((sum, frame) => sum + frame.bytes.length + frame.blocks.reduce((s, b) => s + b.block.bytes.length, 0), 0);
    const raw = members.reduce((sum, columns) => sum + columns.lines.length, 0);
    assert.ok(grouped < raw / 3, `${grouped} stored of ${raw}`);
    if (layout === 'reference') {
      // Each frame holds one member's lines only, the reference's, whose block (version 5) is the
      // frame's lines as they are. It is the first member while that one prints; the ranks that go on
      // printing after it stopped (they have more entries) take over in the last frames.
      const references = frames.map((frame) => {
        const plain = frame.blocks.filter(({ block }) => block.bytes[0] === 5);
        assert.equal(plain.length, 1);
        assert.equal(decodeFrame(frame.bytes).length, plain[0]!.block.rawBytes);
        return plain[0]!.member;
      });
      const lastOfMember0 = frames.findLastIndex((frame) => frame.blocks.some(({ member }) => member === 0));
      assert.deepEqual(references.slice(0, lastOfMember0), new Array(lastOfMember0).fill(0), references.join(','));
      assert.ok(references.slice(lastOfMember0 + 1).every((member) => member > 0), references.join(','));
    }
  });
}

test('each reference frame takes as reference the first member that prints there, unless another prints over twice as much, and gives every member its entries', () => {
  const chatty = columnsOf(rankLines(1, 6000, 9));
  // Long lines over the first tenth of the time only: over twice what the first member prints there.
  const verbose = columnsOf(rankLines(0, 600, 9).map((entry) => ({ ...entry, line: entry.line.repeat(40) })));
  // Only after the others stopped, and less.
  const late = columnsOf(rankLines(2, 300, 9).map((entry) => ({ ...entry, timestampNs: entry.timestampNs + 40_000_000_000n })));
  const members = [chatty, verbose, late];
  const frames = encodeReferenceFrames(members.map(memberOfColumns), 256 * 1024);
  const seen = members.map(() => [] as Buffer[]);
  const references: number[] = [];
  for (const frame of frames) {
    const lines = decodeFrame(frame.bytes);
    for (const { member, block } of frame.blocks) seen[member]!.push(decodeBlock(block.bytes, { id: 'm', labels: {} }, lines).lines);
    // No member's block passes its cap (a frame's target), whoever is the reference.
    for (const { block } of frame.blocks) assert.ok(block.rawBytes <= 256 * 1024 + 4096, `${block.rawBytes} bytes in one block`);
    // One plain block (version 5), the reference's, is the frame's lines; the others are coded against it (6).
    const plain = frame.blocks.filter(({ block }) => block.bytes[0] === 5);
    assert.equal(plain.length, 1);
    assert.equal(lines.length, plain[0]!.block.rawBytes);
    assert.equal(frame.blocks.filter(({ block }) => block.bytes[0] === 6).length, frame.blocks.length - 1);
    references.push(plain[0]!.member);
  }
  members.forEach((columns, m) => assert.ok(Buffer.concat(seen[m]!).equals(columns.lines), `member ${m}`));
  // The verbose member while it prints, then the chatty one (whose last frame, with everything left,
  // also holds the late member's lines: the late member printed less there).
  assert.deepEqual(
    references.filter((member, i) => i === 0 || references[i - 1] !== member),
    [1, 0],
    references.join(','),
  );
});

test('a damaged frame, a member block read without its frame, or runs outside the frame are decode errors', () => {
  const members = Array.from({ length: 3 }, (_, rank) => columnsOf(rankLines(rank, 800, 5)));
  const [frame] = encodeGroupFrames(members.map(memberOfColumns), 64 * 1024 * 1024);
  const lines = decodeFrame(frame!.bytes);
  const damaged = Buffer.from(frame!.bytes);
  damaged[damaged.length - 3]! ^= 0xff;
  assert.throws(() => decodeFrame(damaged), (error: unknown) => error instanceof BlockDecodeError && /checksum/.test(error.message));
  assert.throws(() => decodeFrame(frame!.bytes.subarray(0, 6)), BlockDecodeError);
  const block = frame!.blocks[1]!.block.bytes;
  assert.throws(() => decodeBlock(block, { id: 'x', labels: {} }), (error: unknown) => error instanceof BlockDecodeError && /frame was not given/.test(error.message));
  // A frame too short for the member's runs (another frame, say) is refused, not read past.
  assert.throws(() => decodeBlock(block, { id: 'x', labels: {} }, lines.subarray(0, lines.length >> 1)), BlockDecodeError);
  // Slicing keeps working on the decoded member (what queries do with blocks).
  const data = decodeBlock(block, { id: 'x', labels: {} }, lines);
  assert.equal(sliceColumns(data, 1, 3).timestampsNs.length, 2);
});

test('a referenced block read without its frame or with a truncated frame is a decode error, and with another frame never its lines', () => {
  const members = Array.from({ length: 3 }, (_, rank) => columnsOf(rankLines(rank, 1500, 5)));
  const frames = encodeReferenceFrames(members.map(memberOfColumns), 128 * 1024);
  assert.ok(frames.length >= 2);
  const lines = decodeFrame(frames[0]!.bytes);
  const other = frames[0]!.blocks.find(({ block }) => block.bytes[0] === 6)!.block.bytes;
  assert.throws(() => decodeBlock(other, { id: 'x', labels: {} }), (error: unknown) => error instanceof BlockDecodeError && /frame was not given/.test(error.message));
  // Dictionaries past the end of a shorter frame are refused, not read past.
  assert.throws(() => decodeBlock(other, { id: 'x', labels: {} }, lines.subarray(0, 100)), (error: unknown) => error instanceof BlockDecodeError && /referenced chunk/.test(error.message));
  // Another frame of the same size or larger gives different dictionaries: zstd's checks or the
  // sizes catch most of it; what decodes must not come back as the member's lines.
  const wrong = Buffer.from(lines);
  wrong.fill(0x41);
  let decoded: Buffer | undefined;
  try {
    decoded = decodeBlock(other, { id: 'x', labels: {} }, wrong).lines;
  } catch (error) {
    assert.ok(error instanceof BlockDecodeError, String(error));
  }
  if (decoded !== undefined) assert.ok(!decoded.equals(decodeBlock(other, { id: 'x', labels: {} }, lines).lines));
  const correct = decodeBlock(other, { id: 'x', labels: {} }, lines);
  assert.ok(correct.lines.length > 0);
});

function rankBatch(ranks: number, count: number, seed: number): AppendStream[] {
  return Array.from({ length: ranks }, (_, rank) => ({ labels: { job: 'train', host: `node-${rank >> 2}`, rank: String(rank) }, entries: rankLines(rank, count, seed) }));
}

async function dataObjectsBytes(dataDir: string): Promise<{ data: number; frames: number; members: number }> {
  const objects = openObjectStore({ backend: 'filesystem', directory: join(dataDir, 'objects') });
  let data = 0;
  let frames = 0;
  let members = 0;
  for (const key of await objects.list('tenants/')) {
    if (!key.includes('/parts/')) continue;
    if (key.endsWith('.data')) data += (await objects.get(key)).length;
    if (key.endsWith('.index')) {
      const meta = decodePartIndex(await objects.get(key), key);
      frames += new Set(meta.blocks.filter((block) => block.frameOffset !== undefined).map((block) => block.frameOffset)).size;
      members += meta.blocks.filter((block) => block.frameOffset !== undefined).length;
    }
  }
  await objects.close();
  return { data, frames, members };
}

test('a store writes rank streams as stream group frames, reads each stream exactly, and stores less than one stream per block', async () => {
  const grouped = await makeTempDir('store-groups');
  const apart = await makeTempDir('store-groups-apart');
  try {
    const batches = trainingStreams(3_000_000);
    const expected = batches.flatMap((stream) => stream.entries.map((entry) => `${entry.timestampNs} ${entry.line}`)).sort();
    const stores = {
      grouped: await openStore(testOptions(grouped.path, { blockTargetBytes: 256 * 1024, streamGrouping: DEFAULT_STREAM_GROUPING })),
      // The default: every stream apart.
      apart: await openStore(testOptions(apart.path, { blockTargetBytes: 256 * 1024 })),
    };
    for (const store of Object.values(stores)) {
      await store.append('fake', batches);
      await store.flush();
      assert.deepEqual(await readAll(store, 'fake'), expected);
    }
    // One rank alone reads its own entries and nothing else.
    const rank3 = batches.find((stream) => stream.labels.rank === '3')!.entries.map((entry) => `${entry.timestampNs} ${entry.line}`).sort();
    assert.deepEqual(await readAll(stores.grouped, 'fake', [{ name: 'rank', type: '=', value: '3' }]), rank3);
    const groupedBytes = await dataObjectsBytes(grouped.path);
    const apartBytes = await dataObjectsBytes(apart.path);
    assert.ok(groupedBytes.frames >= 1 && groupedBytes.members >= 8, `${groupedBytes.frames} frames, ${groupedBytes.members} member blocks`);
    assert.equal(apartBytes.frames, 0);
    assert.ok(groupedBytes.data < apartBytes.data * 0.85, `grouped ${groupedBytes.data} bytes against ${apartBytes.data} apart`);
    await stores.apart.close();

    // A retried push after the cut is counted once, and so is its copy once compacted; a restart
    // reads the frames again from disk.
    const retried = batches.filter((stream) => ['0', '5'].includes(stream.labels.rank ?? ''));
    await stores.grouped.append('fake', retried);
    await stores.grouped.flush();
    assert.deepEqual(await readAll(stores.grouped, 'fake'), expected);
    await stores.grouped.compact();
    assert.deepEqual(await readAll(stores.grouped, 'fake'), expected);
    assert.deepEqual(stores.grouped.metrics().duplicateEntriesDiscarded, [['fake', retried.reduce((sum, stream) => sum + stream.entries.length, 0)]]);
    assert.ok((await dataObjectsBytes(grouped.path)).frames >= 1, 'frames survive compaction');
    await stores.grouped.close();
    // Reading frames does not depend on the setting: a store reopened with groups off reads them.
    const reopened = await openStore(testOptions(grouped.path, { blockTargetBytes: 256 * 1024 }));
    assert.deepEqual(await readAll(reopened, 'fake'), expected);
    assert.deepEqual(await readAll(reopened, 'fake', [{ name: 'rank', type: '=', value: '3' }]), rank3);
    await reopened.close();
  } finally {
    await grouped.remove();
    await apart.remove();
  }
});

const NEEDLE_LINE = 'NCCL watchdog caught collective operation timeout on rank3only';

/** A flushed store of 1.5 MB of the training log, grouped, with NEEDLE_LINE printed by rank 3 alone. */
async function storeWithNeedle(dataDir: string, streamGrouping: StreamGrouping): Promise<Awaited<ReturnType<typeof openStore>>> {
  const streams = trainingStreams(1_500_000);
  const rank3 = streams.find((stream) => stream.labels.rank === '3')!;
  rank3.entries.push({ timestampNs: rank3.entries[rank3.entries.length >> 1]!.timestampNs, line: NEEDLE_LINE });
  const store = await openStore(testOptions(dataDir, { blockTargetBytes: 256 * 1024, streamGrouping }));
  await store.append('fake', streams);
  await store.flush();
  return store;
}

/** Rank 3 reads NEEDLE_LINE once, rank 5 never. */
async function assertOnlyRank3ReadsNeedle(store: Awaited<ReturnType<typeof openStore>>): Promise<void> {
  const linesOfRank = async (rank: string): Promise<string[]> => (await readAll(store, 'fake', [{ name: 'rank', type: '=', value: rank }])).filter((line) => line.endsWith(NEEDLE_LINE));
  assert.equal((await linesOfRank('3')).length, 1);
  assert.deepEqual(await linesOfRank('5'), []);
}

test('the member blocks of a shared frame share one token filter: a word one rank printed admits them all, and each rank still reads only its own lines', async () => {
  const dir = await makeTempDir('store-groups-filter');
  try {
    const store = await storeWithNeedle(dir.path, { ...DEFAULT_STREAM_GROUPING, layout: 'shared' });
    const objects = openObjectStore({ backend: 'filesystem', directory: join(dir.path, 'objects') });
    const needle = Buffer.from('rank3only');
    let framesWithNeedle = 0;
    for (const key of await objects.list('tenants/')) {
      if (!key.includes('/parts/') || !key.endsWith('.index')) continue;
      const meta = decodePartIndex(await objects.get(key), key);
      const byFrame = new Map<number, typeof meta.blocks>();
      for (const block of meta.blocks) {
        if (block.frameOffset === undefined) continue;
        byFrame.set(block.frameOffset, [...(byFrame.get(block.frameOffset) ?? []), block]);
      }
      for (const blocks of byFrame.values()) {
        assert.ok(blocks.length >= 8, `${blocks.length} members in a frame`);
        // One filter object per frame once decoded, not one per member.
        assert.equal(new Set(blocks.map((block) => block.filter)).size, 1);
        if (mayContain(blocks[0]!.filter, needle, false)) framesWithNeedle++;
      }
    }
    await objects.close();
    assert.equal(framesWithNeedle, 1, 'exactly the frame that holds the line admits its word');
    await assertOnlyRank3ReadsNeedle(store);
    await store.close();
  } finally {
    await dir.remove();
  }
});

test("with reference frames each member block has its own token filter: a word one rank printed admits only that rank's block", async () => {
  const dir = await makeTempDir('store-groups-reference-filter');
  try {
    const store = await storeWithNeedle(dir.path, DEFAULT_STREAM_GROUPING);
    const objects = openObjectStore({ backend: 'filesystem', directory: join(dir.path, 'objects') });
    const needle = Buffer.from('rank3only');
    let blocksAdmitting = 0;
    let memberBlocks = 0;
    for (const key of await objects.list('tenants/')) {
      if (!key.includes('/parts/') || !key.endsWith('.index')) continue;
      const meta = decodePartIndex(await objects.get(key), key);
      for (const block of meta.blocks) {
        if (block.frameOffset === undefined) continue;
        memberBlocks++;
        if (mayContain(block.filter, needle, false)) blocksAdmitting++;
      }
    }
    await objects.close();
    assert.ok(memberBlocks >= 8, `${memberBlocks} member blocks`);
    assert.equal(blocksAdmitting, 1, "only rank 3's block that holds the line admits its word");
    await assertOnlyRank3ReadsNeedle(store);
    await store.close();
  } finally {
    await dir.remove();
  }
});

const HOUR_NS = 3_600_000_000_000n;

function shifted(streams: AppendStream[], byNs: bigint): AppendStream[] {
  return streams.map((stream) => ({ ...stream, entries: stream.entries.map((entry) => ({ ...entry, timestampNs: entry.timestampNs + byNs })) }));
}

async function frameBytesOf(dataDir: string): Promise<Buffer[]> {
  const objects = openObjectStore({ backend: 'filesystem', directory: join(dataDir, 'objects') });
  const frames: Buffer[] = [];
  for (const key of await objects.list('tenants/')) {
    if (!key.includes('/parts/') || !key.endsWith('.index')) continue;
    const meta = decodePartIndex(await objects.get(key), key);
    const data = await objects.get(key.replace(/\.index$/, '.data'));
    for (const offset of new Set(meta.blocks.flatMap((block) => (block.frameOffset === undefined ? [] : [block.frameOffset])))) {
      const block = meta.blocks.find((b) => b.frameOffset === offset)!;
      frames.push(data.subarray(offset, offset + block.frameLength!));
    }
  }
  await objects.close();
  return frames;
}

test('label order compares runs of digits by value', () => {
  assert.deepEqual(['job=t,rank=10', 'job=t,rank=2', 'job=t,rank=0', 'job=t,rank=1,x=1', 'job=t', 'job=t,rank=1', 'host=a,job=t'].sort(naturalCompare), [
    'host=a,job=t',
    'job=t',
    'job=t,rank=0',
    'job=t,rank=1',
    'job=t,rank=1,x=1',
    'job=t,rank=2',
    'job=t,rank=10',
  ]);
  assert.equal(naturalCompare('rank=007', 'rank=7'), 0);
  assert.ok(naturalCompare('node-9', 'node-10') < 0);
});

test('the reference of a group is its first stream in label order, numbers by value, whatever order the streams were pushed in', async () => {
  const dir = await makeTempDir('store-groups-reference-order');
  try {
    const store = await openStore(testOptions(dir.path, { blockTargetBytes: 1024 * 1024, streamGrouping: DEFAULT_STREAM_GROUPING }));
    const ranks = [10, 2, 0, 1, 9];
    const streams: AppendStream[] = ranks.map((rank) => ({ labels: { job: 'train', rank: String(rank) }, entries: rankLines(rank, 400, 8) }));
    await store.append('fake', streams);
    await store.flush();
    const frames = await frameBytesOf(dir.path);
    assert.equal(frames.length, 1);
    const rank0 = streams[2]!.entries.map((entry) => entry.line).join('');
    assert.equal(decodeFrame(frames[0]!).toString('utf8'), rank0);
    for (const rank of ranks) {
      const own = streams[ranks.indexOf(rank)]!.entries.map((entry) => `${entry.timestampNs} ${entry.line}`).sort();
      assert.deepEqual(await readAll(store, 'fake', [{ name: 'rank', type: '=', value: String(rank) }]), own);
    }
    await store.close();
  } finally {
    await dir.remove();
  }
});

for (const layout of ['shared', 'reference'] as const) {
  test(`compaction copies a ${layout} frame no retry touches as it is, and regroups the members a retry overlaps`, async () => {
    const dir = await makeTempDir('store-groups-compact');
    try {
      const store = await openStore(testOptions(dir.path, { blockTargetBytes: 1024 * 1024, streamGrouping: { ...DEFAULT_STREAM_GROUPING, layout } }));
      const hour0 = rankBatch(6, 800, 3);
      const hour1 = shifted(rankBatch(6, 800, 4), HOUR_NS);
      const solo: AppendStream = { labels: { job: 'solo' }, entries: [0, 1, 2].map((i) => ({ timestampNs: DAY_START_NS + BigInt(i), line: `solo ${i}` })) };
      const all = [...hour0, ...hour1, solo];
      const expected = all.flatMap((stream) => stream.entries.map((entry) => `${entry.timestampNs} ${entry.line}`)).sort();
      await store.append('fake', [...hour0, solo]);
      await store.flush();
      await store.append('fake', hour1);
      await store.flush();
      const framesBefore = await frameBytesOf(dir.path);
      assert.equal(framesBefore.length, 2);
      // A retry of the solo stream overlaps the first part only: that part is merged, its frame untouched.
      await store.append('fake', [solo]);
      await store.flush();
      assert.equal(store.metrics().parts, 3);
      await store.compact();
      assert.equal(store.metrics().parts, 2);
      assert.deepEqual(await readAll(store, 'fake'), expected);
      const framesAfter = await frameBytesOf(dir.path);
      // The old parts stay until their grace period ends: the copied frame is there twice, byte for byte.
      assert.equal(framesAfter.filter((frame) => frame.equals(framesBefore.find((before) => before.equals(frame))!)).length, framesAfter.length);
      // A retry of two ranks of hour 1 overlaps members of the second part's frame: decoded, merged
      // without the copies, and written as a new frame.
      await store.append('fake', hour1.slice(0, 2));
      await store.flush();
      await store.compact();
      assert.deepEqual(await readAll(store, 'fake'), expected);
      assert.deepEqual(await readAll(store, 'fake', [{ name: 'rank', type: '=', value: '1' }]), hour0[1]!.entries.concat(hour1[1]!.entries).map((entry) => `${entry.timestampNs} ${entry.line}`).sort());
      assert.deepEqual(store.metrics().duplicateEntriesDiscarded, [['fake', 3 + 2 * 800]]);
      const regrouped = (await frameBytesOf(dir.path)).filter((frame) => !framesBefore.some((before) => before.equals(frame)));
      // A shared frame holds both ranks' lines, so the merged one differs; a reference frame holds rank
      // 0's lines only, the same bytes again, and the retried rank 1's block is written anew against it.
      if (layout === 'shared') assert.ok(regrouped.length >= 1, 'the merged members were written as a new frame');
      else assert.ok((await dataObjectsBytes(dir.path)).members >= 12, 'the merged members are still frame members');
      await store.close();
    } finally {
      await dir.remove();
    }
  });
}
