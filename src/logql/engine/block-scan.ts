// Scans one block: picks the lines in a time range, runs raw-byte literal filters with
// Buffer.indexOf over the whole block before anything is decoded, then hands each surviving line to a
// visitor. Lines are decoded to strings only when the visitor asks for them.

import type { BlockData } from '../../store/types.ts';
import { isKeyEnd, keyRunBefore } from '../log/label-prefilter.ts';
import { labelPrefilterApplies, type RawLineFilter } from '../log/pipeline.ts';

/** First index whose timestamp is >= ns (timestamps ascending). */
export function lowerBound(timestamps: BigInt64Array, ns: bigint): number {
  let lo = 0;
  let hi = timestamps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timestamps[mid]! < ns) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the line containing byte offset `at`. */
function lineAt(lineEnds: Uint32Array, at: number, from: number): number {
  let lo = from;
  let hi = lineEnds.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (lineEnds[mid]! <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function lineStart(block: BlockData, index: number): number {
  return index === 0 ? 0 : block.lineEnds[index - 1]!;
}

/**
 * Which lines in [from, to) pass the raw filters. Returns null when there are no raw filters (all
 * pass), else a mask indexed by (line - from).
 */
export function rawFilterMask(block: BlockData, from: number, to: number, filters: RawLineFilter[]): Uint8Array | null {
  if (filters.length === 0 || from >= to) return null;
  const count = to - from;
  let mask: Uint8Array | null = null;
  const startByte = lineStart(block, from);
  const endByte = block.lineEnds[to - 1]!;
  let withMetadata: boolean | undefined;
  for (const filter of sparsestFirst(block, startByte, endByte, filters)) {
    if (filter.unlessLabels) {
      withMetadata ??= hasMetadata(block);
      if (!labelPrefilterApplies(filter.unlessLabels, block.stream.labels, withMetadata)) continue;
    }
    const hits = new Uint8Array(count);
    if (filter.caseInsensitive) {
      // Non-ASCII letters that fold to ASCII ones (KELVIN SIGN, LONG S) would be missed: skip the prefilter.
      if (block.lines.indexOf(KELVIN_SIGN) >= 0 || block.lines.indexOf(LONG_S) >= 0) continue;
      markCaseInsensitive(block, from, startByte, endByte, filter, hits);
    } else {
      markCaseSensitive(block, from, to, endByte, filter, hits, mask);
    }
    if (filter.negated) for (let i = 0; i < count; i++) hits[i] = hits[i] ? 0 : 1;
    if (mask === null) mask = hits;
    else for (let i = 0; i < count; i++) mask[i]! &= hits[i]!;
  }
  return mask;
}

/** Bytes at the start of a block's range in which each filter's needles are counted (see sparsestFirst). */
const PROBE_BYTES = 8 * 1024;
/** Counting stops here: about as many lines as the probe holds on a training log (~190 bytes a line). */
const PROBE_HITS = 64;
/** A one-byte filter found in at most this share of the probe's lines goes first. */
const SPARSE_BYTE_SHARE = 0.25;

/**
 * The filters in the order that costs least: every one must hold, so any order keeps the same lines,
 * and a filter after the first searches only from the lines still kept. A one-byte needle is a memchr
 * pass, a longer one a string search that costs several times more per byte, however rare it is: a
 * one-byte filter that hits few of the probe's lines goes first, then the rest, sparsest first, judged
 * by their hits in the range's first PROBE_BYTES. Measured on 300k lines of bench/parser-profile's log,
 * where 1 in 22 lines has a '{': `| json | event="train_metrics"` marked its lines in half the CPU with
 * its '{' filter first; on lines that are all JSON (a third of them train_metrics) the value's filter
 * first took half the CPU of the '{' first. Negated and case-insensitive filters keep their place, last.
 */
function sparsestFirst(block: BlockData, startByte: number, endByte: number, filters: RawLineFilter[]): RawLineFilter[] {
  if (filters.length < 2) return filters;
  const ranked: Array<{ filter: RawLineFilter; hits: number }> = [];
  const rest: RawLineFilter[] = [];
  const probeEnd = Math.min(endByte, startByte + PROBE_BYTES);
  // A view that ends the probe: a needle absent from it is not searched for through the whole block.
  const probe = block.lines.subarray(startByte, probeEnd);
  for (const filter of filters) {
    if (filter.negated || filter.caseInsensitive) {
      rest.push(filter);
      continue;
    }
    let hits = 0;
    for (const needle of filter.needles) {
      for (let at = 0; hits < PROBE_HITS; hits++) {
        const found = probe.indexOf(needle, at);
        if (found < 0) break;
        at = found + Math.max(1, needle.length);
      }
    }
    ranked.push({ filter, hits });
  }
  if (ranked.length < 2) return filters;
  const from = lineAt(block.lineEnds, startByte, 0);
  const probeLines = lineAt(block.lineEnds, Math.max(startByte, probeEnd - 1), from) - from + 1;
  const sparseByte = (r: { filter: RawLineFilter; hits: number }) => r.filter.needles.every((n) => n.length === 1) && r.hits <= probeLines * SPARSE_BYTE_SHARE;
  // Array#sort is stable: equal filters keep the pipeline's order.
  ranked.sort((a, b) => Number(sparseByte(b)) - Number(sparseByte(a)) || a.hits - b.hits);
  return [...ranked.map((r) => r.filter), ...rest];
}

/** Whether any line of the block carries structured metadata (it then becomes labels). */
export function hasMetadata(block: BlockData): boolean {
  const column = block.structuredMetadata;
  if (!column) return false;
  for (const pairs of column) if (pairs !== undefined && pairs.length > 0) return true;
  return false;
}

/** lineAt for offsets that only grow: a few steps forward from the last line, else a binary search. */
function nextLineAt(lineEnds: Uint32Array, at: number, last: number): number {
  for (let line = last, steps = 0; steps < 8 && line < lineEnds.length; line++, steps++) {
    if (lineEnds[line]! > at) return line;
  }
  return lineAt(lineEnds, at, last);
}

/**
 * Marks the lines in [from, to) that contain one of the filter's needles. Lines an earlier filter
 * already dropped (`mask` 0) are not searched: after `|= "x" | json | loss > 1` the second needle is
 * looked for from the start of the next line that still passes, not in every line.
 */
function markCaseSensitive(block: BlockData, from: number, to: number, endByte: number, filter: RawLineFilter, hits: Uint8Array, mask: Uint8Array | null): void {
  const lines = block.lines;
  const lineEnds = block.lineEnds;
  for (let n = 0; n < filter.needles.length; n++) {
    const needle = filter.needles[n]!;
    if (filter.keyEnd?.[n] === true) {
      markKeyEnds(block, from, to, endByte, needle, hits, mask);
      continue;
    }
    // A one-byte needle as a number: Buffer#indexOf then skips the needle's checks and goes straight
    // to memchr (82k '{' in 134 MB of the bench log: 11 ms against 15 ms as a Buffer).
    const byte = needle.length === 1 ? needle[0]! : -1;
    let line = from;
    let at = lineStart(block, from);
    while (line < to) {
      const next = mask !== null || line > from ? nextUndecided(from, to, line, hits, mask) : line;
      if (next >= to) break;
      if (next > line) {
        line = next;
        at = lineStart(block, next);
      }
      const found = byte >= 0 ? lines.indexOf(byte, at) : lines.indexOf(needle, at);
      if (found < 0 || found + needle.length > endByte) break;
      const hit = nextLineAt(lineEnds, found, line);
      // A match must lie entirely inside one line.
      if (found + needle.length <= lineEnds[hit]!) {
        hits[hit - from] = 1;
        line = hit + 1;
        at = lineEnds[hit]!;
      } else {
        line = hit;
        at = found + 1;
      }
    }
  }
}

/** The first line from `line` on that no earlier filter dropped and no earlier needle hit. */
function nextUndecided(from: number, to: number, line: number, hits: Uint8Array, mask: Uint8Array | null): number {
  let next = line;
  while (next < to && ((mask !== null && mask[next - from] === 0) || hits[next - from] === 1)) next++;
  return next;
}

/**
 * A memchr call for '=' costs about a quarter of a string search call (Buffer#indexOf, Node 24, on
 * the bench log: 820k '=' found in 25 ms, 409k `norm=` in 58 ms): the '=' walk goes first unless the
 * probe finds this many times more '=' than key runs.
 */
const EQUALS_PER_RUN_HIT = 3;

/**
 * Marks the lines in [from, to) where the logfmt key run `run` ends a key (isKeyEnd). Two ways to
 * find them, picked on the probe at the range's start: search the run and look ahead for the '=', or
 * walk the '=' bytes and look back for the run. The second makes one memchr call per '=' where the
 * first makes a string search per run, and most runs of a label name in a log are not keys: on the
 * bench log `grad_norm` is a key in 409k lines and plain text in 450k more.
 */
function markKeyEnds(block: BlockData, from: number, to: number, endByte: number, run: Buffer, hits: Uint8Array, mask: Uint8Array | null): void {
  const lines = block.lines;
  const lineEnds = block.lineEnds;
  const startByte = lineStart(block, from);
  const probe = lines.subarray(startByte, Math.min(endByte, startByte + PROBE_BYTES));
  const fromEquals = countInProbe(probe, EQUALS_BYTE) <= EQUALS_PER_RUN_HIT * countInProbe(probe, run);
  let line = from;
  let at = startByte;
  while (line < to) {
    const next = mask !== null || line > from ? nextUndecided(from, to, line, hits, mask) : line;
    if (next >= to) break;
    if (next > line) {
      line = next;
      at = lineStart(block, next);
    }
    const found = fromEquals ? lines.indexOf(EQUALS, at) : lines.indexOf(run, at);
    if (found < 0 || found >= endByte) break;
    const hit = nextLineAt(lineEnds, found, line);
    const isKey = fromEquals ? keyRunBefore(lines, found, run, lineStart(block, hit)) >= 0 : isKeyEnd(lines, found, run.length, lineEnds[hit]!);
    if (isKey) {
      hits[hit - from] = 1;
      line = hit + 1;
      at = lineEnds[hit]!;
    } else {
      line = hit;
      at = found + 1;
    }
  }
}

const EQUALS = 0x3d;
const EQUALS_BYTE = Buffer.of(EQUALS);

/** Occurrences of `needle` in the probe, up to PROBE_HITS. */
function countInProbe(probe: Buffer, needle: Buffer): number {
  let hits = 0;
  for (let at = 0; hits < PROBE_HITS; hits++) {
    const found = probe.indexOf(needle, at);
    if (found < 0) break;
    at = found + needle.length;
  }
  return hits;
}

const caseInsensitivePatterns = new WeakMap<RawLineFilter, RegExp>();

/**
 * ASCII needles, case-insensitively, over the block viewed as a latin1 string (one char per byte, so
 * string offsets are byte offsets). The pattern is a plain alternation of literals: no backtracking risk.
 */
function markCaseInsensitive(block: BlockData, from: number, startByte: number, endByte: number, filter: RawLineFilter, hits: Uint8Array): void {
  let pattern = caseInsensitivePatterns.get(filter);
  if (!pattern) {
    const alternatives = filter.needles.map((n) => n.toString('latin1').replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'));
    pattern = new RegExp(alternatives.join('|'), 'gi');
    caseInsensitivePatterns.set(filter, pattern);
  }
  const text = block.lines.toString('latin1', startByte, endByte);
  pattern.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    const found = startByte + match.index;
    const line = lineAt(block.lineEnds, found, from);
    if (found + match[0].length <= block.lineEnds[line]!) {
      hits[line - from] = 1;
      pattern.lastIndex = block.lineEnds[line]! - startByte;
    } else {
      pattern.lastIndex = match.index + 1;
    }
  }
}

/** Smaller buffers are not worth it (and may sit in Node's shared allocation pool). */
const RELEASE_MIN_BYTES = 64 * 1024;

/**
 * Frees a scanned block's decompressed lines (and its timestamp and line-end columns) at once,
 * detaching their ArrayBuffers, instead of at the next full GC. Only for a block the scan read from a
 * part itself and keeps nothing of: after this the block reads as empty. V8 answers each ~60 MB of such garbage with a full GC, and the allocator meets
 * every new 2 MB block with fresh pages: 500 decompressions of a 2 MB block took 95-136 ms CPU with
 * each released against 323-335 ms without, and no full GC against 14 (Node 24, one thread).
 */
export function releaseBlockColumns(block: BlockData): void {
  release(block.lines, 1);
  // The timestamp and line-end columns (~12 bytes an entry) go the same way.
  release(block.timestampsNs, 0);
  release(block.lineEnds, 0);
}

/**
 * Detaches the array's buffer when the array alone fills it (`spare` bytes allowed past its end:
 * zlib's output chunk is one byte larger than its output): one shared with other columns or blocks
 * stays as it is.
 */
function release(array: Uint8Array | BigInt64Array | Uint32Array, spare: number): void {
  const buffer = array.buffer;
  if (!(buffer instanceof ArrayBuffer) || buffer.detached || buffer.byteLength < RELEASE_MIN_BYTES) return;
  if (array.byteOffset !== 0 || buffer.byteLength > array.byteLength + spare) return;
  try {
    buffer.transfer(0);
  } catch {
    // Not detachable (memory Node or V8 manage otherwise): left to the GC.
  }
}

const KELVIN_SIGN = Buffer.from('\u212A', 'utf8');
const LONG_S = Buffer.from('\u017F', 'utf8');
/**
 * Buffer#utf8Slice: what toString('utf8', …) calls after normalising its arguments, which cost about
 * a fifth of a ~100-byte line's decode (185k lines: 15-17 ms against 19-21 ms). Not in @types/node.
 */
type Utf8Sliceable = Buffer & { utf8Slice(start: number, end: number): string };

export function decodeLine(block: BlockData, index: number): string {
  return (block.lines as Utf8Sliceable).utf8Slice(lineStart(block, index), block.lineEnds[index]!);
}

export function lineBytes(block: BlockData, index: number): number {
  return block.lineEnds[index]! - lineStart(block, index);
}
