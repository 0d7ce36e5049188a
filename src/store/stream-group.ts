// Stream groups: the ranks of one training job print the same text (step, time, throughput,
// learning rate, the progress bar), once per rank. One stream per rank, each compressed alone, stores
// that text once per rank; lines of all ranks compressed together store it about once. On issue 9's
// 244 MB 8-rank log the lines column goes from 12.3% of raw to 7.8% (bench/store-codec.ts --layouts
// and bench/store-group-frames.ts), at the same encode speed.
//
// Streams whose labels are equal once the labels that tell ranks, hosts and pods apart are left out
// (`store.stream_groups.without`) form a group of at most `max_members` streams. Two layouts: the
// default, `reference`, keeps only one member's lines in the group frame and codes the others against
// them (reference-frames.ts). The rest of this comment is the `shared` layout, where a cut (and a
// compaction) writes each group's lines as shared frames: one zstd frame of about `frameTargetBytes`
// raw that holds every member's lines over one time range, in slices of about SLICE_BYTES per member
// in time order, so a line sits a few KB after the other ranks' lines of the same moment, within
// reach of level 1's small match table. Each member still has a block of its own (timestamps, line
// lengths, structured metadata) in the part index, whose lines column records which runs of the
// frame are its lines (block version 5).
//
// The members' blocks of one frame share one token filter, built over the whole frame: a literal any
// member has admits them all (reading one of them decompresses the whole frame anyway). Per-member
// filters would prune needles better (a frame's 4 MB of every rank's text sets more trigrams), but
// part indexes stay loaded: a filter per member block held 5.4 MB after the 244 MB log against
// 2.2 MB without groups, and a second buffer to gather each member's lines for its filter.
//
// The cost is on reads of one member alone: its block needs the whole frame decompressed, i.e. every
// member's lines of that time range (at most `max_members` times its own). Queries over all members
// decompress each frame once (part-reader.ts keeps the last frames decoded per thread).
//
// Frame layout: u8 version (1) | u32 CRC-32 of the bytes after it | u32 raw length | zstd(lines).

import { crc32, zstdDecompressSync } from 'node:zlib';
import { BlockDecodeError, encodeBlock, ZSTD_BLOCK_HASH_LOG, ZSTD_LEVEL, zstdCompress, type BlockColumns, type MemberLines } from './block.ts';
import type { EncodedBlock } from './block-encoding.ts';
import { releaseOwnedMemory, releaseWholeMemory } from './owned-buffer.ts';
import { rebasedLineEnds } from './block-slice.ts';
import { blockTokenFilter, type TokenFilter } from './token-filter.ts';
import type { LabelPair, Labels } from './types.ts';
import { LITTLE_ENDIAN } from '../push/raw-push-stream.ts';

const FRAME_VERSION = 1;
const FRAME_HEADER_BYTES = 1 + 4 + 4;
/**
 * Bytes of one member's lines per slice. Measured on 48 MB of the 8-rank log, 16 MB frames, level 1
 * hash log 11 (lines column, % of raw): line by line 8.61%, 4 KB 7.77%, 16 KB 7.86%, 64 KB 9.17%.
 * Smaller slices mean more runs per block (a read copies run by run).
 */
export const SLICE_BYTES = 4096;
/** Groups whose lines total less than this are stored one stream per block: a frame buys nothing. */
export const MIN_GROUP_BYTES = 64 * 1024;
/** A frame (and so a whole-frame read) never holds more raw bytes than this. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const EMPTY_LINES = Buffer.alloc(0);

/**
 * How a group's lines are stored: `shared`, every member's lines in one frame (above); `reference`,
 * the frame holds only the reference member's lines and the others' blocks are coded against them
 * (reference-frames.ts).
 */
export type GroupLayout = 'shared' | 'reference';

export interface StreamGrouping {
  /** Labels left out of the group key; none of them: streams are never grouped. */
  without: ReadonlySet<string>;
  /** At most this many streams share a frame; below 2, streams are never grouped. */
  maxMembers: number;
  layout: GroupLayout;
}

/**
 * The grouping `store.stream_groups` (on by default) uses: the labels agents set per rank, host and
 * pod (`rankscope run` sets rank, Promtail and Alloy host or node, Kubernetes discovery pod and
 * instance) are left out, so the ranks and pods of one job form a group; 16 members bound what a
 * one-stream read of the `shared` layout decompresses to 16 times its own lines. The `reference`
 * layout (reference-frames.ts) is the default: stored 9.3% of raw on the 244 MB 8-rank log against
 * 13.4% without groups (`shared`: 9.3% too), while a read of one member decompresses at most its own
 * lines and the reference's over the same time.
 */
export const DEFAULT_STREAM_GROUPING: StreamGrouping = {
  without: new Set(['rank', 'local_rank', 'node_rank', 'group_rank', 'host', 'hostname', 'node', 'node_name', 'pod', 'instance']),
  maxMembers: 16,
  layout: 'reference',
};

/**
 * No groups: every stream's blocks stand alone (what a store opened without options does; the
 * server's config turns DEFAULT_STREAM_GROUPING on, store.stream_groups).
 */
export const NO_STREAM_GROUPING: StreamGrouping = { without: new Set(), maxMembers: 0, layout: 'reference' };

/** The key streams of one group share, or undefined when the labels have none of the grouping's labels. */
export function streamGroupKey(labels: Labels, grouping: StreamGrouping): string | undefined {
  if (grouping.maxMembers < 2 || grouping.without.size === 0) return undefined;
  let grouped = false;
  const kept: string[] = [];
  for (const name of Object.keys(labels).sort()) {
    if (grouping.without.has(name)) grouped = true;
    else kept.push(`${name}\u0000${labels[name]}`);
  }
  return grouped ? kept.join('\u0001') : undefined;
}

/**
 * Splits items into groups: items with the same key (`keyOf`, e.g. tenant and streamGroupKey), at
 * most `maxMembers` each (in the order given), and every item without a key alone.
 */
export function groupItems<T>(items: readonly T[], keyOf: (item: T) => string | undefined, maxMembers: number): T[][] {
  const groups: T[][] = [];
  const open = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    if (key === undefined) {
      groups.push([item]);
      continue;
    }
    let group = open.get(key);
    if (group === undefined || group.length >= maxMembers) {
      group = [];
      open.set(key, group);
      groups.push(group);
    }
    group.push(item);
  }
  return groups;
}

/**
 * One member's sorted entries for encodeGroupFrames: timestamps and line ends as in BlockColumns,
 * with the lines read through `copyLines` (a head copies them from its own chunks, so a cut never
 * holds a second copy of a group's lines).
 */
export interface GroupMember {
  timestampsNs: BigInt64Array;
  lineEnds: Uint32Array;
  structuredMetadata?: Array<LabelPair[] | undefined>;
  /** Copies the lines' bytes [start, end) to `target` at `targetStart`. */
  copyLines(target: Buffer, targetStart: number, start: number, end: number): void;
}

/** A member over columns whose lines are already in one buffer (compaction's merged runs). */
export function memberOfColumns(columns: BlockColumns): GroupMember {
  return {
    timestampsNs: columns.timestampsNs,
    lineEnds: columns.lineEnds,
    ...(columns.structuredMetadata === undefined ? {} : { structuredMetadata: columns.structuredMetadata }),
    copyLines: (target, targetStart, start, end) => void columns.lines.copy(target, targetStart, start, end),
  };
}

/** Entries [first, last) of a member, as a member of their own (line ends from 0). */
export function sliceMember(member: GroupMember, first: number, last: number): GroupMember {
  if (first === 0 && last === member.timestampsNs.length) return member;
  const base = first === 0 ? 0 : member.lineEnds[first - 1]!;
  return {
    timestampsNs: member.timestampsNs.subarray(first, last),
    lineEnds: rebasedLineEnds(member.lineEnds, first, last),
    ...(member.structuredMetadata === undefined ? {} : { structuredMetadata: member.structuredMetadata.slice(first, last) }),
    copyLines: (target, targetStart, start, end) => member.copyLines(target, targetStart, base + start, base + end),
  };
}

/** A member's entries as columns with their own copy of the lines. */
export function memberColumns(member: GroupMember): BlockColumns {
  const bytes = member.lineEnds.length === 0 ? 0 : member.lineEnds[member.lineEnds.length - 1]!;
  const lines = Buffer.allocUnsafe(bytes);
  member.copyLines(lines, 0, 0, bytes);
  const columns: BlockColumns = { timestampsNs: member.timestampsNs, lines, lineEnds: member.lineEnds };
  if (member.structuredMetadata !== undefined) columns.structuredMetadata = member.structuredMetadata;
  return columns;
}

export interface EncodedFrame {
  /** The frame object's bytes (header and zstd'd lines). */
  bytes: Buffer;
  rawBytes: number;
  /** One block per member with lines in this frame; `member` indexes the members given. */
  blocks: Array<{ member: number; block: EncodedBlock }>;
}

/** Approximate timestamps as doubles (~256 ns apart at today's epoch): enough to slice by time. */
export function approximateTimes(timestampsNs: BigInt64Array): Float64Array {
  const count = timestampsNs.length;
  const words = new Uint32Array(timestampsNs.buffer, timestampsNs.byteOffset, count * 2);
  const highs = new Int32Array(timestampsNs.buffer, timestampsNs.byteOffset, count * 2);
  const times = new Float64Array(count);
  // The int64's halves in memory order (the same test as wal-record.ts and log-time.ts).
  const high = LITTLE_ENDIAN ? 1 : 0;
  for (let i = 0; i < count; i++) times[i] = highs[i * 2 + high]! * 4294967296 + words[i * 2 + 1 - high]!;
  return times;
}

/**
 * Encodes several streams' sorted entries (one day's, one tenant's) as shared frames of about
 * `frameTargetBytes` raw each, with each member's block per frame. The members' line bytes are copied
 * into each frame in time slices (see SLICE_BYTES); nothing is kept of the inputs. `scratch` may lend
 * a buffer of at least the given size to build each frame in: a fresh one per frame cost the 244 MB
 * bench log's cuts ~0.2 CPU-s of page faults (its pages mapped, zeroed and unmapped every time).
 */
export function encodeGroupFrames(members: readonly GroupMember[], frameTargetBytes: number, scratch?: (bytes: number) => Buffer | undefined): EncodedFrame[] {
  const frameTarget = Math.min(MAX_FRAME_BYTES, Math.max(SLICE_BYTES, frameTargetBytes));
  const times = members.map((member) => approximateTimes(member.timestampsNs));
  const positions = members.map(() => 0);
  const lineStart = (member: GroupMember, index: number): number => (index === 0 ? 0 : member.lineEnds[index - 1]!);
  const frames: EncodedFrame[] = [];
  const remaining = (): boolean => positions.some((position, m) => position < members[m]!.timestampsNs.length);
  while (remaining()) {
    const frameFirst = positions.slice();
    // Runs [start, end) of the frame, per member, and the slices' order in the frame.
    const runs = members.map((): number[] => []);
    const order: Array<[member: number, from: number, to: number]> = [];
    let frameBytes = 0;
    while (frameBytes < frameTarget && remaining()) {
      // The slice ends at the earliest time by which some member has printed SLICE_BYTES (at least one line).
      let sliceEnd = Number.POSITIVE_INFINITY;
      for (let m = 0; m < members.length; m++) {
        const member = members[m]!;
        const count = member.timestampsNs.length;
        let index = positions[m]!;
        if (index >= count) continue;
        const from = lineStart(member, index);
        const lineEnds = member.lineEnds;
        while (index + 1 < count && lineEnds[index]! - from < SLICE_BYTES) index++;
        const time = times[m]![index]!;
        if (time < sliceEnd) sliceEnd = time;
      }
      for (let m = 0; m < members.length; m++) {
        const member = members[m]!;
        const count = member.timestampsNs.length;
        const memberTimes = times[m]!;
        const first = positions[m]!;
        let last = first;
        while (last < count && memberTimes[last]! <= sliceEnd) last++;
        if (last === first) continue;
        const from = lineStart(member, first);
        const to = member.lineEnds[last - 1]!;
        const memberRuns = runs[m]!;
        // One run with the member's previous slice when no other member's slice came between.
        if (memberRuns.length > 0 && memberRuns[memberRuns.length - 1] === frameBytes) memberRuns[memberRuns.length - 1] = frameBytes + (to - from);
        else memberRuns.push(frameBytes, frameBytes + (to - from));
        order.push([m, from, to]);
        frameBytes += to - from;
        positions[m] = last;
      }
    }
    // The frame's lines in one buffer: lent by the caller, or freed once the frame is encoded.
    const lent = scratch?.(frameBytes);
    const work = lent ?? Buffer.allocUnsafeSlow(frameBytes);
    const lines = work.subarray(0, frameBytes);
    let at = 0;
    for (const [m, from, to] of order) {
      members[m]!.copyLines(lines, at, from, to);
      at += to - from;
    }
    // One token filter for the whole frame, shared by its members' blocks (see the file comment).
    const filter = blockTokenFilter(lines, Uint32Array.of(frameBytes));
    const bytes = encodeFrameBytes(lines);
    if (lent === undefined) releaseOwnedMemory(work);
    const blocks: EncodedFrame['blocks'] = [];
    for (let m = 0; m < members.length; m++) {
      const first = frameFirst[m]!;
      const last = positions[m]!;
      if (last === first) continue;
      const entries = sliceMember(members[m]!, first, last);
      blocks.push({ member: m, block: memberBlock(entries, { runs: runs[m]! }, filter) });
      if (entries !== members[m]) releaseOwnedMemory(entries.lineEnds);
    }
    frames.push({ bytes, rawBytes: frameBytes, blocks });
  }
  for (const memberTimes of times) releaseOwnedMemory(memberTimes);
  return frames;
}

/**
 * A member's block of one frame (versions 5 and 6): its timestamps, line lengths and structured
 * metadata, where its lines are (`memberLines`), and `filter` over them.
 */
export function memberBlock(entries: GroupMember, memberLines: MemberLines, filter: TokenFilter): EncodedBlock {
  const lineEnds = entries.lineEnds;
  // The block holds no lines: encodeBlock reads only the timestamps, the line ends and where the lines are.
  const slice: BlockColumns = { timestampsNs: entries.timestampsNs, lines: EMPTY_LINES, lineEnds };
  if (entries.structuredMetadata !== undefined) slice.structuredMetadata = entries.structuredMetadata;
  return {
    bytes: encodeBlock(slice, ZSTD_LEVEL, memberLines),
    filter,
    minTimeNs: slice.timestampsNs[0]!,
    maxTimeNs: slice.timestampsNs[slice.timestampsNs.length - 1]!,
    entryCount: lineEnds.length,
    rawBytes: lineEnds[lineEnds.length - 1]!,
  };
}

/** A frame object of `lines`: header, then the lines zstd'd as a block's lines column is. */
export function encodeFrameBytes(lines: Buffer): Buffer {
  const compressed = zstdCompress(lines, ZSTD_LEVEL, ZSTD_BLOCK_HASH_LOG);
  const bytes = Buffer.allocUnsafe(FRAME_HEADER_BYTES + compressed.length);
  bytes[0] = FRAME_VERSION;
  bytes.writeUInt32LE(lines.length, 5);
  compressed.copy(bytes, FRAME_HEADER_BYTES);
  releaseWholeMemory(compressed);
  bytes.writeUInt32LE(crc32(bytes.subarray(5)), 1);
  return bytes;
}

/** A frame's lines, decompressed; any damage is a BlockDecodeError. */
export function decodeFrame(bytes: Buffer): Buffer {
  if (bytes.length < FRAME_HEADER_BYTES) throw new BlockDecodeError(`stream group frame too short: ${bytes.length} bytes`);
  if (bytes[0] !== FRAME_VERSION) throw new BlockDecodeError(`unknown stream group frame version ${bytes[0]}`);
  const stored = bytes.readUInt32LE(1);
  const computed = crc32(bytes.subarray(5));
  if (stored !== computed) throw new BlockDecodeError(`stream group frame checksum mismatch (stored ${stored.toString(16)}, computed ${computed.toString(16)}): the frame is corrupt`);
  const rawBytes = bytes.readUInt32LE(5);
  if (rawBytes > MAX_FRAME_BYTES) throw new BlockDecodeError(`stream group frame says ${rawBytes} raw bytes, more than any frame holds`);
  if (rawBytes === 0) return Buffer.alloc(0);
  let lines: Buffer;
  try {
    lines = zstdDecompressSync(bytes.subarray(FRAME_HEADER_BYTES), { chunkSize: rawBytes + 1, maxOutputLength: rawBytes });
  } catch (error) {
    throw new BlockDecodeError(`stream group frame does not decompress: ${(error as Error).message}`);
  }
  if (lines.length !== rawBytes) throw new BlockDecodeError(`stream group frame holds ${lines.length} bytes, its header says ${rawBytes}`);
  return lines;
}
