// Worker-thread side of a parallel scan: loads its share of persisted blocks straight from the object
// store, decodes them, and runs the same sample collector the main thread uses. Only the per-series
// samples travel back, never lines.

import { parentPort } from 'node:worker_threads';
import type { ObjectStore, ObjectStoreConfig } from '../../objstore/open-object-store.ts';
import { openObjectStore } from '../../objstore/open-object-store.ts';
import { readBlock } from '../../store/part-reader.ts';
import type { BlockLocation, StreamInfo } from '../../store/types.ts';
import type { QueryStatistics } from '../api.ts';
import type { RangeAggregation } from '../syntax/ast.ts';
import { scanBlock } from './log-selection.ts';
import { createSampleCollector, type SampleSeries } from './range-aggregation.ts';

export interface SampleScanTask {
  id: number;
  objectStore: ObjectStoreConfig;
  node: RangeAggregation;
  baseNs: bigint;
  startNs: bigint;
  endNs: bigint;
  blocks: Array<{ location: BlockLocation; stream: StreamInfo }>;
}

export type SampleScanReply =
  | { id: number; series: SampleSeries[]; stats: QueryStatistics }
  | { id: number; error: { name: string; message: string } };

const stores = new Map<string, ObjectStore>();

function storeFor(config: ObjectStoreConfig): ObjectStore {
  const key = JSON.stringify(config);
  let store = stores.get(key);
  if (!store) {
    store = openObjectStore(config);
    stores.set(key, store);
  }
  return store;
}

async function run(task: SampleScanTask): Promise<SampleScanReply> {
  const stats: QueryStatistics = { bytesProcessed: 0, linesProcessed: 0, blocksRead: 0, blocksSkipped: 0, execTimeSeconds: 0 };
  try {
    const store = storeFor(task.objectStore);
    const collector = createSampleCollector(task.node, task.baseNs);
    const options = { startNs: task.startNs, endNs: task.endNs };
    // Read the next block while the current one is scanned.
    let pending = task.blocks.length > 0 ? readBlock(store, task.blocks[0]!.location, task.blocks[0]!.stream) : null;
    for (let i = 0; i < task.blocks.length; i++) {
      const block = await pending!;
      pending = i + 1 < task.blocks.length ? readBlock(store, task.blocks[i + 1]!.location, task.blocks[i + 1]!.stream) : null;
      stats.blocksRead++;
      scanBlock(block, collector.pipeline, options, { stats }, collector.visit, collector.needLine);
    }
    return { id: task.id, series: [...collector.series.values()], stats };
  } catch (error) {
    const failure = error as Error;
    return { id: task.id, error: { name: failure.name, message: failure.message } };
  }
}

parentPort?.on('message', (task: SampleScanTask) => {
  void run(task).then((reply) => parentPort!.postMessage(reply));
});
