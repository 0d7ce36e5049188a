// Worker-thread entry for BlockEncoderPool: encodes one stream's blocks per message.

import { parentPort } from 'node:worker_threads';
import type { BlockColumns } from './block.ts';
import { encodeStreamBlocks } from './block-encoding.ts';
import { releaseOwnedMemory } from './owned-buffer.ts';

interface EncodeRequest {
  id: number;
  columns: { timestampsNs: BigInt64Array; lines: Uint8Array; lineEnds: Uint32Array; structuredMetadata?: BlockColumns['structuredMetadata'] };
  blockTargetBytes: number;
}

parentPort!.on('message', (request: EncodeRequest) => {
  try {
    const { lines, ...rest } = request.columns;
    const columns: BlockColumns = { ...rest, lines: Buffer.from(lines.buffer, lines.byteOffset, lines.byteLength) };
    const blocks = encodeStreamBlocks(columns, request.blockTargetBytes);
    // Blocks that own their whole memory move to the main thread; small ones live in Node's shared
    // pool (other buffers share it) and are copied.
    const transfer: ArrayBuffer[] = [];
    for (const block of blocks) {
      const memory = block.bytes.buffer;
      if (memory instanceof ArrayBuffer && block.bytes.byteOffset === 0 && block.bytes.byteLength === memory.byteLength) transfer.push(memory);
    }
    parentPort!.postMessage({ id: request.id, blocks }, transfer);
    // The inputs were moved here for this message alone: free them now. This thread allocates few JS
    // objects, so its garbage collector seldom runs and kept tens of MB of spent columns alive.
    releaseOwnedMemory(lines);
    releaseOwnedMemory(rest.timestampsNs);
    releaseOwnedMemory(rest.lineEnds);
  } catch (error) {
    parentPort!.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});
