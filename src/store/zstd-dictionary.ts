// zstd with raw-content dictionaries, through zstd-napi's reusable contexts (the official zstd
// library as a native addon). Node's own zstd (node:zlib) takes a dictionary only as an option of a
// new stream: every call builds a context and copies the dictionary, about 50 µs, which made 16 KB
// chunks each with a dictionary of their own decode at a fifth of a plain block's speed. Here one
// compression and one decompression context live per thread (the main thread and each worker load
// their own copy of this module), and a decompression only points at its dictionary: on 48 MB of the
// 8-rank bench log (bench/store-reference.ts) every rank's blocks in 16 KB chunks decode in 46 ms,
// against 39 ms for one stream per block and 95 ms for the shared frames.

import { createRequire } from 'node:module';
import type * as ZstdBinding from 'zstd-napi/binding.d.ts';

let loaded: typeof ZstdBinding | undefined;
let compressor: ZstdBinding.CCtx | undefined;
let decompressor: ZstdBinding.DCtx | undefined;

/**
 * The addon, loaded at first use: a machine where it did not build (node-gyp needs python3, make and
 * g++ at `npm ci`) still runs everything but the `reference` group layout, and says why.
 */
function binding(): typeof ZstdBinding {
  if (loaded !== undefined) return loaded;
  try {
    loaded = createRequire(import.meta.url)('zstd-napi/binding') as typeof ZstdBinding;
  } catch (error) {
    throw new Error(
      `zstd-napi, which the stream group layout "reference" needs, did not load (${(error as Error).message}); rebuild it with \`npm rebuild zstd-napi\` (python3, make and g++), or set store.stream_groups.layout: shared`,
    );
  }
  return loaded;
}

/** The most bytes zstd makes of `sourceBytes`. */
export function compressBound(sourceBytes: number): number {
  return binding().compressBound(sourceBytes);
}

/**
 * Compresses `source` at `level` into `target` (at least compressBound of it) with `dictionary` (raw
 * content; may be empty) as history; returns the frame's length.
 */
export function compressWithDictionary(target: Uint8Array, source: Uint8Array, dictionary: Uint8Array, level: number): number {
  compressor ??= new (binding().CCtx)();
  return compressor.compressUsingDict(target, source, dictionary, level);
}

/**
 * Decompresses `frame` into `target`, which must be exactly the frame's content size, with the same
 * dictionary it was compressed with. Throws when the frame is damaged or its size differs.
 */
export function decompressWithDictionary(target: Uint8Array, frame: Uint8Array, dictionary: Uint8Array): void {
  decompressor ??= new (binding().DCtx)();
  const written = decompressor.decompressUsingDict(target, frame, dictionary);
  if (written !== target.length) throw new Error(`holds ${written} bytes where ${target.length} were expected`);
}
