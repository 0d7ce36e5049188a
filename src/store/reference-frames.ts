// Stream groups, layout `reference` (the default; stream-group.ts has the `shared` layout and what
// groups are). One member of the group is the reference: the first in label order (part-writer.ts
// sorts them, so rank 0 of a training job, whose reads then cost what they cost without groups),
// unless it printed less than half of the busiest member over that time. Its lines over one time range form the group frame, a zstd frame like any block's lines
// column. Every other member's lines over the same range are cut into chunks of about CHUNK_BYTES, and
// each chunk is zstd'd with the reference's lines printed within LAG_NS of it as a raw-content
// dictionary (block version 6, block.ts): the text the ranks share (time, step, throughput, learning
// rate, the progress bar) is then a match a few KB back, which level 1's small table still finds.
//
// Against the `shared` layout, which stores each member's lines interleaved in one frame: reading
// one member decompresses its own lines and the reference's over the same time (two streams' worth,
// the reference alone for itself) instead of every member's, and each block keeps a token filter of
// its own, so needles prune as without groups. Measured on 48 MB of the 8-rank bench log
// (bench/store-reference.ts): lines column 8.0% of raw (one stream per block 12.1%, `shared` 7.8%),
// encode ~2.2x the CPU of one stream per block, a read of a non-reference member ~2.6x its decode
// CPU, all members together ~1.4x.

import { encodeReferencedLines, type ReferencedChunk } from './block.ts';
import { blockRanges } from './block-encoding.ts';
import { releaseOwnedMemory } from './owned-buffer.ts';
import { approximateTimes, encodeFrameBytes, memberBlock, sliceMember, type EncodedFrame, type GroupMember } from './stream-group.ts';
import { blockTokenFilter } from './token-filter.ts';

/**
 * A chunk's line bytes. On 48 MB of the 8-rank log (lines column, % of raw): 8 KB 8.35%, 16 KB
 * 8.01%, 32 KB 8.08%, 64 KB 8.32%; decode speed is within noise of each other from 16 KB up.
 */
export const CHUNK_BYTES = 16 * 1024;
/** The reference's lines printed this long before a chunk's first line to after its last (ns) make its dictionary. */
export const LAG_NS = 200e6;
/** At most this much of the reference is a chunk's dictionary (a chatty reference prints MBs in 400 ms). */
export const MAX_DICTIONARY_BYTES = 64 * 1024;

const totalBytes = (member: GroupMember): number => (member.lineEnds.length === 0 ? 0 : member.lineEnds[member.lineEnds.length - 1]!);

/** First index in [from, to) of `times` whose time is ≥ `time` (times ascending), or `to`. */
function firstAtOrAfter(times: Float64Array, from: number, to: number, time: number): number {
  let low = from;
  let high = to;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (times[middle]! < time) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Encodes several streams' sorted entries (one day's, one tenant's) in the `reference` layout: frames
 * of up to `frameTargetBytes / 2` of the reference member's lines (a one-stream block's worth), each
 * with every member's block over the frame's time range. A member printing much faster than the
 * reference ends a frame at `frameTargetBytes` of its own lines.
 *
 * Each frame's reference is the first member, in the order given, with lines in the frame's time
 * range and at least half the bytes there of the member with the most (a reference with little text
 * gives the others little to match). A cut gives every stream once, so rank 0 of a job is the
 * reference of all its frames; compaction may give a stream as several runs of disjoint time ranges,
 * and then each frame's reference is the run of the first stream that covers it.
 */
export function encodeReferenceFrames(members: readonly GroupMember[], frameTargetBytes: number, chunkBytes = CHUNK_BYTES): EncodedFrame[] {
  const referenceCap = Math.max(CHUNK_BYTES, frameTargetBytes / 2);
  const memberCap = Math.max(CHUNK_BYTES, frameTargetBytes);
  const times = members.map((member) => approximateTimes(member.timestampsNs));
  const positions = members.map(() => 0);
  /** The time of a member's entry at which its lines since its position reach `cap`, or +Infinity. */
  const capTime = (m: number, cap: number): number => {
    const { lineEnds } = members[m]!;
    const count = lineEnds.length;
    let index = positions[m]!;
    if (index >= count) return Number.POSITIVE_INFINITY;
    const from = index === 0 ? 0 : lineEnds[index - 1]!;
    while (index + 1 < count && lineEnds[index]! - from < cap) index++;
    return lineEnds[index]! - from >= cap ? times[m]![index]! : Number.POSITIVE_INFINITY;
  };
  /** The index after a member's last entry at or before `time`, from its position. */
  const endAt = (m: number, time: number): number => {
    const memberTimes = times[m]!;
    let last = positions[m]!;
    while (last < memberTimes.length && memberTimes[last]! <= time) last++;
    return last;
  };
  const bytesUntil = (m: number, last: number): number => {
    const { lineEnds } = members[m]!;
    const first = positions[m]!;
    return last === first ? 0 : lineEnds[last - 1]! - (first === 0 ? 0 : lineEnds[first - 1]!);
  };
  const frames: EncodedFrame[] = [];
  for (;;) {
    // Where the frame would end without a reference: when some member has printed its cap, or,
    // without such a time, when everything left is in.
    let widest = Number.POSITIVE_INFINITY;
    let remaining = false;
    for (let m = 0; m < members.length; m++) {
      if (positions[m]! >= members[m]!.lineEnds.length) continue;
      remaining = true;
      widest = Math.min(widest, capTime(m, memberCap));
    }
    if (!remaining) break;
    const bytes = members.map((_, m) => bytesUntil(m, endAt(m, widest)));
    const most = Math.max(...bytes);
    const reference = bytes.findIndex((memberBytes) => memberBytes > 0 && memberBytes * 2 >= most);
    // The reference's own cap ends the frame sooner; it keeps at least its first entry.
    const boundary = Math.min(widest, capTime(reference, referenceCap));
    const firsts = positions.slice();
    for (let m = 0; m < members.length; m++) positions[m] = endAt(m, boundary);
    frames.push(encodeFrame(members, times, reference, firsts, positions, chunkBytes));
  }
  for (const memberTimes of times) releaseOwnedMemory(memberTimes);
  return frames;
}

/** One frame: the reference's entries [firsts, lasts) as its lines, every member's block over them. */
function encodeFrame(members: readonly GroupMember[], times: readonly Float64Array[], reference: number, firsts: readonly number[], lasts: readonly number[], chunkBytes: number): EncodedFrame {
  const referenceFirst = firsts[reference]!;
  const referenceLast = lasts[reference]!;
  const referenceEntries = sliceMember(members[reference]!, referenceFirst, referenceLast);
  const referenceBytes = totalBytes(referenceEntries);
  const referenceLines = Buffer.allocUnsafeSlow(referenceBytes);
  referenceEntries.copyLines(referenceLines, 0, 0, referenceBytes);
  const referenceTimes = times[reference]!;
  /** Where the reference's entry `index` (of the whole member) starts in the frame's lines. */
  const referenceStart = (index: number): number => (index === referenceFirst ? 0 : referenceEntries.lineEnds[index - referenceFirst - 1]!);
  const blocks: EncodedFrame['blocks'] = [];
  let rawBytes = referenceBytes;
  for (let m = 0; m < members.length; m++) {
    const first = firsts[m]!;
    const last = lasts[m]!;
    if (last === first) continue;
    if (m === reference) {
      blocks.push({ member: m, block: memberBlock(referenceEntries, { runs: [0, referenceBytes] }, blockTokenFilter(referenceLines, referenceEntries.lineEnds)) });
      continue;
    }
    const entries = sliceMember(members[m]!, first, last);
    const lineEnds = entries.lineEnds;
    const bytes = totalBytes(entries);
    const lines = Buffer.allocUnsafeSlow(bytes);
    entries.copyLines(lines, 0, 0, bytes);
    const memberTimes = times[m]!;
    const chunks: ReferencedChunk[] = [];
    for (const [chunkFirst, chunkLast] of blockRanges(entries, chunkBytes)) {
      const from = chunkFirst === 0 ? 0 : lineEnds[chunkFirst - 1]!;
      const firstTime = memberTimes[first + chunkFirst]!;
      const lastTime = memberTimes[first + chunkLast - 1]!;
      let start = referenceStart(firstAtOrAfter(referenceTimes, referenceFirst, referenceLast, firstTime - LAG_NS));
      let end = referenceStart(firstAtOrAfter(referenceTimes, referenceFirst, referenceLast, lastTime + LAG_NS + 1));
      if (end - start > MAX_DICTIONARY_BYTES) {
        // Around the chunk's own time: a little of what came before, the rest after its first line.
        start = Math.max(start, referenceStart(firstAtOrAfter(referenceTimes, referenceFirst, referenceLast, firstTime)) - MAX_DICTIONARY_BYTES / 4);
        end = Math.min(end, start + MAX_DICTIONARY_BYTES);
      }
      chunks.push({ lineBytes: lineEnds[chunkLast - 1]! - from, dictionaryStart: start, dictionaryLength: end - start });
    }
    blocks.push({ member: m, block: memberBlock(entries, { chunks: encodeReferencedLines(lines, chunks, referenceLines) }, blockTokenFilter(lines, lineEnds)) });
    rawBytes += bytes;
    releaseOwnedMemory(lines);
    if (entries !== members[m]) releaseOwnedMemory(lineEnds);
  }
  const bytes = encodeFrameBytes(referenceLines);
  releaseOwnedMemory(referenceLines);
  if (referenceEntries !== members[reference]) releaseOwnedMemory(referenceEntries.lineEnds);
  return { bytes, rawBytes, blocks };
}

