// The ceiling a Node scan can reach on this machine: zstd-decompress 2 MB chunks of the raw file and
// count matching lines with Buffer.indexOf, on one thread. The store's literal scan does this plus
// its own bookkeeping, so the gap between this figure and a query's is rankscope's overhead.

import { open } from 'node:fs/promises';
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';

const CHUNK_BYTES = 2 << 20;
const NEWLINE = 0x0a;

export interface ScanCeiling {
  rawBytes: number;
  compressedBytes: number;
  cpuSeconds: number;
  matchingLines: number;
  rawGbPerCoreSecond: number;
}

/** Lines containing `needle` in a chunk, counting each line once however often it matches. */
function countLines(chunk: Buffer, needle: Buffer): number {
  let count = 0;
  let from = 0;
  while (true) {
    const hit = chunk.indexOf(needle, from);
    if (hit < 0) return count;
    count++;
    const lineEnd = chunk.indexOf(NEWLINE, hit + needle.length);
    if (lineEnd < 0) return count;
    from = lineEnd + 1;
  }
}

export async function measureScanCeiling(rawPath: string, literal: string): Promise<ScanCeiling> {
  const file = await open(rawPath, 'r');
  const compressed: Buffer[] = [];
  let rawBytes = 0;
  try {
    // Chunks end on a newline so no line is split across two of them.
    let carry = Buffer.alloc(0);
    const buffer = Buffer.alloc(CHUNK_BYTES);
    while (true) {
      const { bytesRead } = await file.read(buffer, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      const data = Buffer.concat([carry, buffer.subarray(0, bytesRead)]);
      const cut = data.lastIndexOf(NEWLINE) + 1;
      const whole = cut > 0 ? data.subarray(0, cut) : data;
      carry = Buffer.from(cut > 0 ? data.subarray(cut) : Buffer.alloc(0));
      rawBytes += whole.length;
      compressed.push(zstdCompressSync(whole, { params: { [constants.ZSTD_c_compressionLevel]: 3 } }));
    }
    if (carry.length > 0) {
      rawBytes += carry.length;
      compressed.push(zstdCompressSync(carry, { params: { [constants.ZSTD_c_compressionLevel]: 3 } }));
    }
  } finally {
    await file.close();
  }
  const needle = Buffer.from(literal);
  const before = process.cpuUsage();
  let matchingLines = 0;
  for (const chunk of compressed) matchingLines += countLines(zstdDecompressSync(chunk), needle);
  const used = process.cpuUsage(before);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return {
    rawBytes,
    compressedBytes: compressed.reduce((sum, chunk) => sum + chunk.length, 0),
    cpuSeconds,
    matchingLines,
    rawGbPerCoreSecond: rawBytes / cpuSeconds / 1e9,
  };
}
