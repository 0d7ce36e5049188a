// src/store/owned-buffer.ts: what each release frees, and what it must leave alone (Node's shared
// allocation pool, slices of memory the caller does not own whole).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zstdCompressSync } from 'node:zlib';
import { releaseOwnedMemory, releaseWholeMemory } from '../../src/store/owned-buffer.ts';

test('releaseOwnedMemory frees a view that spans its memory, and nothing else', () => {
  const cases: Array<{ name: string; make: () => Uint8Array; freed: boolean }> = [
    { name: 'a buffer of its own', make: () => Buffer.allocUnsafeSlow(100_000), freed: true },
    { name: 'a typed array of its own', make: () => new Uint8Array(100), freed: true },
    { name: 'a slice of a larger allocation', make: () => new Uint8Array(100_000).subarray(10), freed: false },
    { name: 'a small buffer in the shared pool', make: () => Buffer.from('pooled'), freed: false },
  ];
  for (const { name, make, freed } of cases) {
    const view = make();
    const memory = view.buffer as ArrayBuffer;
    releaseOwnedMemory(view);
    assert.equal(memory.detached, freed, name);
  }
});

test('releaseWholeMemory frees zstd output chunks but never the shared pool', () => {
  const large = zstdCompressSync(Buffer.alloc(2_000_000, 97), { chunkSize: 600_000 });
  assert.ok(large.byteLength < large.buffer.byteLength, 'a compressed column is a slice of its output chunk');
  releaseWholeMemory(large);
  assert.equal((large.buffer as ArrayBuffer).detached, true);
  const small = zstdCompressSync(Buffer.alloc(1000, 97));
  const pool = small.buffer as ArrayBuffer;
  releaseWholeMemory(small);
  assert.equal(pool.detached, false, 'small outputs live in the pool other buffers use');
  // An output chunk between half the pool's size and the pool's is memory of its own: freed.
  const middle = zstdCompressSync(Buffer.alloc(45_000, 97), { chunkSize: 45_500 });
  assert.ok(middle.buffer.byteLength > Buffer.poolSize >>> 1 && middle.buffer.byteLength < Buffer.poolSize);
  releaseWholeMemory(middle);
  assert.equal((middle.buffer as ArrayBuffer).detached, true);
  // zlib's default 64 KiB chunk: the pool's size, which V8 refuses to detach: left alone, no throw.
  const defaultChunk = zstdCompressSync(Buffer.alloc(45_000, 97));
  assert.equal(defaultChunk.buffer.byteLength, Buffer.poolSize);
  releaseWholeMemory(defaultChunk);
  assert.equal((defaultChunk.buffer as ArrayBuffer).detached, false);
  const neighbour = Buffer.from('still readable');
  releaseWholeMemory(neighbour);
  assert.equal(neighbour.toString(), 'still readable');
});
