// src/logql/engine/frame-order.ts: metric scans read a stream group frame's members one after another.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { framesTogether } from '../../../src/logql/engine/frame-order.ts';
import type { BlockRef } from '../../../src/store/types.ts';

function ref(name: string, objectKey?: string, frameOffset?: number): BlockRef {
  return {
    stream: { id: name.split(':')[0]!, labels: { rank: name.split(':')[0]! } },
    minTimeNs: 0n,
    maxTimeNs: 0n,
    entryCount: 1,
    rawBytes: 1,
    ...(objectKey === undefined ? {} : { location: { objectKey, offset: 0, length: 1, ...(frameOffset === undefined ? {} : { frame: { offset: frameOffset, length: 10 } }) } }),
    load: () => Promise.reject(new Error('not read here')),
  };
}

test('framesTogether puts the members of each frame together, where its first member was, and keeps everything else in order', () => {
  // Selection lists blocks stream by stream: rank 0's two frames, then rank 1's, a head block, a part block without a frame.
  const refs = [ref('0:a', 'p1', 0), ref('0:b', 'p1', 500), ref('0:c', 'p2', 0), ref('1:a', 'p1', 0), ref('1:b', 'p1', 500), ref('head'), ref('1:c', 'p2', 0), ref('plain', 'p3')];
  const names = framesTogether(refs).map((r) => `${r.stream.id}${r.location?.frame === undefined ? '' : `@${r.location.objectKey}+${r.location.frame.offset}`}`);
  assert.deepEqual(names, ['0@p1+0', '1@p1+0', '0@p1+500', '1@p1+500', '0@p2+0', '1@p2+0', 'head', 'plain']);
  // Frames in two parts at the same offset are different frames.
  assert.equal(new Set(names.slice(0, 6).map((name) => name.split('@')[1])).size, 3);
  // Without frames the list is returned as it is.
  const plain = [ref('x', 'p1'), ref('head')];
  assert.equal(framesTogether(plain), plain);
});
