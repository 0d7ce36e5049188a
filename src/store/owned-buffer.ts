// Freeing a spent buffer's memory at once instead of when the garbage collector gets to its
// wrapper. V8 frees an ArrayBuffer's backing store only when the object dies; a buffer that
// outlived two young-generation collections (a cut's column copy, a WAL frame) waits for a full
// collection, which on the ingest path comes every ~60 MB of heap growth, or past 64 MB of external
// memory. Detaching it (`transfer(0)`) frees it now. Measured on bench/ingest-flush-bench.ts
// (244 MB log): spent cut columns and encoder messages held ~35 MB of the peak RSS.

/**
 * Frees the memory behind `view` now, when the view spans all of it (never a slice of Node's shared
 * allocation pool, which other buffers use). The caller must hold the only reference: every view of
 * that memory reads as empty afterwards.
 */
export function releaseOwnedMemory(view: ArrayBufferView): void {
  const memory = view.buffer;
  if (!(memory instanceof ArrayBuffer) || memory.detached || view.byteOffset !== 0 || view.byteLength !== memory.byteLength) return;
  memory.transfer(0);
}

/**
 * Frees all the memory behind `view`, which may span only part of it: for buffers whose producer
 * hands out a slice of a fresh allocation (zlib's sync outputs are a slice of the engine's output
 * chunk, which nothing else holds once the call returns). The caller must own the whole allocation.
 * Left alone: memory the size of Node's shared allocation pool (64 KiB in Node 24), which may be the
 * pool (V8 refuses to detach it, and so zlib's default 64 KiB output chunk), and anything smaller
 * than half of it, which Node allocates from the pool.
 */
export function releaseWholeMemory(view: ArrayBufferView): void {
  const memory = view.buffer;
  if (!(memory instanceof ArrayBuffer) || memory.detached || memory.byteLength === Buffer.poolSize || memory.byteLength < Buffer.poolSize >>> 1) return;
  memory.transfer(0);
}
