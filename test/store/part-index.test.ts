// Part indexes as read from the object store: a valid one round-trips, and any damage (a flipped byte
// in a sealed index, malformed JSON in an index written before checksums, an index filed under
// another tenant's key) is a PartIndexError naming the object, never another error: the store leaves
// such a part out and keeps starting (see corruption.test.ts for what queries then say).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { openObjectStore } from '../../src/objstore/open-object-store.ts';
import { partIndexKey } from '../../src/store/object-keys.ts';
import { decodePartIndex, encodePartIndex, finishPartMeta, PartIndexError, type BlockMeta, type PartStreamMeta } from '../../src/store/part-index.ts';
import { readPartIndex } from '../../src/store/part-reader.ts';
import { buildTokenFilter, encodeTokenFilter, unfilteredTokenFilter } from '../../src/store/token-filter.ts';
import { V1_FILTER_ZSTD_BASE64 } from './fixtures/token-filter-v1.ts';
import { makeTempDir } from './store-fixture.ts';

const KEY = 'tenants/fake/2025-11-21/parts/p1.index';
const lines = Buffer.from('step 1 loss 2.5step 2 loss 2.4'.repeat(64));
const filter = buildTokenFilter(lines, Uint32Array.from([lines.length]));

function validMeta(tenant = 'fake', partId = 'p1') {
  const streams = new Map<string, PartStreamMeta>([['s1', { info: { id: 's1', labels: { job: 'train' } }, walSeq: 7n }]]);
  const blocks: BlockMeta[] = [
    { streamId: 's1', minTimeNs: 10n, maxTimeNs: 20n, entryCount: 2, rawBytes: lines.length, offset: 0, length: 100, filter },
    { streamId: 's1', minTimeNs: 21n, maxTimeNs: 30n, entryCount: 1, rawBytes: 10, offset: 100, length: 20, filter: unfilteredTokenFilter() },
  ];
  return finishPartMeta({ partId, tenant, day: 20413, replaces: [], streams, blocks, dataBytes: 120, indexBytes: 0 });
}

/** An index as written before checksums: zstd(u32 JSON length | JSON | filters), no envelope. */
function legacyIndex(json: unknown, filters: Buffer[] = [encodeTokenFilter(filter), encodeTokenFilter(unfilteredTokenFilter())]): Buffer {
  const jsonBytes = Buffer.from(JSON.stringify(json));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(jsonBytes.length);
  return zstdCompressSync(Buffer.concat([length, jsonBytes, ...filters]));
}

function validJson(): Record<string, unknown> & { streams: Array<Record<string, unknown>>; blocks: Array<Record<string, unknown>> } {
  return {
    version: 1,
    partId: 'p1',
    tenant: 'fake',
    day: 20413,
    replaces: [],
    dataBytes: 120,
    streams: [{ id: 's1', labels: { job: 'train' }, walSeq: '7' }],
    blocks: [
      { stream: 0, minTimeNs: '10', maxTimeNs: '20', entryCount: 2, rawBytes: lines.length, offset: 0, length: 100, filterLength: encodeTokenFilter(filter).length },
      { stream: 0, minTimeNs: '21', maxTimeNs: '30', entryCount: 1, rawBytes: 10, offset: 100, length: 20, filterLength: 2 },
    ],
  };
}

test('a part index round-trips, sealed and in the older unsealed form', () => {
  const sealed = decodePartIndex(encodePartIndex(validMeta()), KEY);
  const legacy = decodePartIndex(legacyIndex(validJson()), KEY);
  for (const meta of [sealed, legacy]) {
    assert.equal(meta.blocks.length, 2);
    assert.deepEqual(meta.streams.get('s1')?.info.labels, { job: 'train' });
    assert.equal(meta.blocks[1]!.maxTimeNs, 30n);
    assert.deepEqual(encodeTokenFilter(meta.blocks[0]!.filter), encodeTokenFilter(filter));
  }
});

const damaged: Array<[string, () => Buffer, RegExp]> = [
  ['a flipped byte in a sealed index', () => { const bytes = encodePartIndex(validMeta()); bytes[bytes.length - 5]! ^= 0x10; return bytes; }, /checksum mismatch/],
  ['bytes that are no zstd frame', () => Buffer.from('not an index at all'), /cannot read/],
  ['JSON that is not an object', () => legacyIndex(null), /not a JSON object/],
  ['an unknown version', () => legacyIndex({ ...validJson(), version: 9 }), /unknown version 9/],
  ['a tenant that is not a string', () => legacyIndex({ ...validJson(), tenant: 5 }), /wrong type/],
  ['replaces that is not a list of ids', () => legacyIndex({ ...validJson(), replaces: [1] }), /replaces/],
  ['a stream without labels', () => { const json = validJson(); json.streams[0] = { id: 's1', walSeq: '7' }; return legacyIndex(json); }, /stream 0 is malformed/],
  ['a stream whose WAL seq is no integer', () => { const json = validJson(); json.streams[0]!.walSeq = '7x'; return legacyIndex(json); }, /stream 0 is malformed/],
  ['a null block', () => { const json = validJson(); json.blocks[1] = null as never; return legacyIndex(json); }, /block 1 is malformed/],
  ['a block time that is no integer', () => { const json = validJson(); json.blocks[0]!.minTimeNs = 'soon'; return legacyIndex(json); }, /block 0 is malformed/],
  ['a negative entry count', () => { const json = validJson(); json.blocks[0]!.entryCount = -1; return legacyIndex(json); }, /block 0 is malformed/],
  ['a block that ends before it starts', () => { const json = validJson(); json.blocks[0]!.maxTimeNs = '5'; return legacyIndex(json); }, /ends before it starts/],
  ['a block naming a stream that is not there', () => { const json = validJson(); json.blocks[1]!.stream = 3; return legacyIndex(json); }, /names stream 3 of 1/],
  ['a block outside the data object', () => { const json = validJson(); json.blocks[1]!.length = 999; return legacyIndex(json); }, /outside the 120 data bytes/],
  ['a token filter past the end', () => { const json = validJson(); json.blocks[1]!.filterLength = 99_999; return legacyIndex(json); }, /runs past/],
  [
    'a token filter too short to hold a bitmap',
    () => {
      const json = validJson();
      json.blocks[0]!.filterLength = 10;
      return legacyIndex(json, [Buffer.alloc(10), encodeTokenFilter(unfilteredTokenFilter())]);
    },
    /token filter too short: 10 bytes/,
  ],
  [
    'a format 2 token filter whose list of set bits is damaged',
    () => {
      const json = validJson();
      const bytes = Buffer.concat([encodeTokenFilter(filter), Buffer.alloc(3)]);
      json.blocks[0]!.filterLength = bytes.length;
      return legacyIndex(json, [bytes, encodeTokenFilter(unfilteredTokenFilter())]);
    },
    /out of order or range/,
  ],
  [
    'a format 2 token filter bitmap of the wrong length',
    () => {
      const json = validJson();
      // 100 KB of varied text: too many trigrams for a list, so the filter is a bitmap.
      const text = Buffer.from(Array.from({ length: 5000 }, (_, i) => `w${(i * 7919) % 100000} `).join('').repeat(4));
      const bytes = Buffer.concat([encodeTokenFilter(buildTokenFilter(text, Uint32Array.from([text.length]))), Buffer.alloc(3)]);
      json.blocks[0]!.filterLength = bytes.length;
      return legacyIndex(json, [bytes, encodeTokenFilter(unfilteredTokenFilter())]);
    },
    /token filter has 8621 bytes, not 8618/,
  ],
  [
    'a format 1 bloom whose size is not a power of two',
    () => {
      const json = validJson();
      const bytes = Buffer.concat([zstdDecompressSync(Buffer.from(V1_FILTER_ZSTD_BASE64, 'base64')), Buffer.alloc(3)]);
      json.blocks[0]!.filterLength = bytes.length;
      return legacyIndex(json, [bytes, encodeTokenFilter(unfilteredTokenFilter())]);
    },
    /not a power of two/,
  ],
];

for (const [name, bytes, message] of damaged) {
  test(`a part index with ${name} is a PartIndexError naming the object`, () => {
    assert.throws(
      () => decodePartIndex(bytes(), KEY),
      (error: Error) => error instanceof PartIndexError && error.message.startsWith(`part index ${KEY}: `) && message.test(error.message),
    );
  });
}

test('an index filed under another tenant, day or part than the one it names is refused', async () => {
  const dir = await makeTempDir('part-index-key');
  const store = openObjectStore({ backend: 'filesystem', directory: dir.path });
  try {
    await store.put(partIndexKey('fake', 20413, 'p1'), encodePartIndex(validMeta('other')));
    await store.put(partIndexKey('fake', 20413, 'p2'), encodePartIndex(validMeta('fake', 'p1')));
    await store.put(partIndexKey('fake', 20413, 'p3'), encodePartIndex(validMeta('fake', 'p3')));
    await assert.rejects(readPartIndex(store, 'fake', 20413, 'p1'), (error: Error) => error instanceof PartIndexError && /names tenant "other"/.test(error.message));
    await assert.rejects(readPartIndex(store, 'fake', 20413, 'p2'), (error: Error) => error instanceof PartIndexError && /part p1, not the ones of its key/.test(error.message));
    assert.equal((await readPartIndex(store, 'fake', 20413, 'p3')).partId, 'p3');
  } finally {
    await store.close();
    await dir.remove();
  }
});
