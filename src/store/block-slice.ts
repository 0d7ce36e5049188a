// A contiguous range of a stream's columns, sharing the underlying memory where it can.

import type { BlockColumns } from './block.ts';

/** Line ends of entries [first, last), counted from the first entry's start. */
export function rebasedLineEnds(lineEnds: Uint32Array, first: number, last: number): Uint32Array {
  const startByte = first === 0 ? 0 : lineEnds[first - 1]!;
  const rebased = new Uint32Array(last - first);
  for (let i = first; i < last; i++) rebased[i - first] = lineEnds[i]! - startByte;
  return rebased;
}

export function sliceColumns(columns: BlockColumns, first: number, last: number): BlockColumns {
  if (first === 0 && last === columns.timestampsNs.length) return columns;
  const startByte = first === 0 ? 0 : columns.lineEnds[first - 1]!;
  const lineEnds = rebasedLineEnds(columns.lineEnds, first, last);
  const sliced: BlockColumns = {
    timestampsNs: columns.timestampsNs.subarray(first, last),
    lines: columns.lines.subarray(startByte, columns.lineEnds[last - 1]!),
    lineEnds,
  };
  if (columns.structuredMetadata !== undefined) {
    const metadata = columns.structuredMetadata.slice(first, last);
    if (metadata.some((pairs) => pairs !== undefined)) sliced.structuredMetadata = metadata;
  }
  return sliced;
}
