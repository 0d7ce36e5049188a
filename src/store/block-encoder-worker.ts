// Worker-thread entry for BlockEncoderPool: encodes one stream's blocks per message.

import { parentPort } from 'node:worker_threads';
import type { BlockColumns } from './block.ts';
import { encodeStreamBlocks } from './block-encoding.ts';

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
    // Copied, not transferred: small Buffers live in Node's shared pool, which cannot be moved.
    parentPort!.postMessage({ id: request.id, blocks });
  } catch (error) {
    parentPort!.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});
