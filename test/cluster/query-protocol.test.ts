import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, decodeInlineBlock, encodeFrame, encodeInlineBlock, inlineBodyBytes, sliceBlockData, ProtocolError } from '../../src/cluster/query-protocol.ts';
import type { BlockData } from '../../src/store/types.ts';

const stream = { id: 'abc', labels: { job: 'train' } };

function block(lines: string[], metadata = false): BlockData {
  const text = lines.join('');
  const lineEnds = new Uint32Array(lines.length);
  let end = 0;
  lines.forEach((line, i) => (lineEnds[i] = end += Buffer.byteLength(line)));
  const data: BlockData = { stream, timestampsNs: BigInt64Array.from(lines.map((_, i) => 1_000n + BigInt(i))), lines: Buffer.from(text), lineEnds };
  if (metadata) data.structuredMetadata = lines.map((_, i) => (i % 2 === 0 ? [{ name: 'trace', value: String(i) }] : undefined));
  return data;
}

test('inline blocks round-trip through a frame, with and without structured metadata', () => {
  for (const withMetadata of [false, true]) {
    const data = block(['a', 'bé', '', 'line four'], withMetadata);
    const { inline, body } = encodeInlineBlock(data);
    const frame = decodeFrame(encodeFrame({ kind: 'blocks', refs: [{ stream, minTimeNs: '1000', maxTimeNs: '1003', entryCount: 4, rawBytes: data.lines.length, inline }] }, body));
    assert.equal(frame.header.kind, 'blocks');
    const decoded = decodeInlineBlock(stream, inline, frame.body);
    assert.deepEqual([...decoded.timestampsNs], [...data.timestampsNs]);
    assert.deepEqual([...decoded.lineEnds], [...data.lineEnds]);
    assert.equal(decoded.lines.toString(), 'abéline four');
    assert.deepEqual(decoded.structuredMetadata, data.structuredMetadata);
    assert.equal(inlineBodyBytes(inline), frame.body.length);
  }
});

test('slices rebase line ends and keep their entries', () => {
  const data = block(['one', 'two', 'three', 'four'], true);
  const slice = sliceBlockData(data, 1, 3);
  assert.deepEqual([...slice.timestampsNs], [1001n, 1002n]);
  assert.deepEqual([...slice.lineEnds], [3, 8]);
  assert.equal(slice.lines.toString(), 'twothree');
  assert.deepEqual(slice.structuredMetadata, [undefined, [{ name: 'trace', value: '2' }]]);
});

test('frames that lie about their sizes are refused with the reason', () => {
  assert.throws(() => decodeFrame(new Uint8Array(2)), ProtocolError);
  const lying = Buffer.alloc(8);
  lying.writeUInt32LE(100, 0);
  assert.throws(() => decodeFrame(lying), /passes the frame/);
  const data = block(['abc']);
  const { inline } = encodeInlineBlock(data);
  assert.throws(() => decodeInlineBlock(stream, inline, Buffer.alloc(3)), /passes the 3 bytes/);
});
