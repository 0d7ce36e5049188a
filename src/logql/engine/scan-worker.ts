// Worker-thread side of a parallel scan: loads its share of persisted blocks through the store's
// block reader (straight from the object store), decodes them, and runs the same sample collector
// the main thread uses. Only the per-series samples travel back, never lines.

import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { openBlockReader, type BlockReader } from '../../store/block-reader.ts';
import type { BlockData, BlockLocation, BlockReaderConfig, StreamInfo } from '../../store/types.ts';
import type { QueryStatistics } from '../api.ts';
import type { LogExpr, RangeAggregation } from '../syntax/ast.ts';
import { scanBlock, selectPipeline } from './log-selection.ts';
import { releaseBlockColumns } from './block-scan.ts';
import { scanLogBlocks, type Candidate, type LogScanOptions } from './log-query.ts';
import { createSampleCollector, type SampleSeries } from './range-aggregation.ts';

/**
 * Scans run below the main thread's priority, so the event loop that answers pushes and /ready gets
 * a core first when queries keep every core busy. On Linux the nice value is per thread, and
 * pid 0 means the calling thread; elsewhere (or without permission) the call may fail: not fatal.
 */
const SCAN_THREAD_NICE = 10;
try {
  setPriority(0, SCAN_THREAD_NICE);
} catch {
  // Equal priority: slower ingest under heavy queries, nothing worse.
}

interface TaskBase {
  id: number;
  blockReader: BlockReaderConfig;
  blocks: Array<{ location: BlockLocation; stream: StreamInfo }>;
}

export interface SampleScanTask extends TaskBase {
  kind: 'samples';
  node: RangeAggregation;
  baseNs: bigint;
  stepsNs: bigint[];
  startNs: bigint;
  endNs: bigint;
}

export interface LogScanTask extends TaskBase {
  kind: 'logs';
  expr: LogExpr;
  options: LogScanOptions;
}

export type ScanTask = SampleScanTask | LogScanTask;

/** `warnings`: the unreadable blocks' messages (see BlockData.unreadable). */
export type ScanReply =
  | { id: number; series: SampleSeries[]; stats: QueryStatistics; warnings: string[] }
  | { id: number; candidates: Candidate[]; stats: QueryStatistics; warnings: string[] }
  | { id: number; error: { name: string; message: string } };

const readers = new Map<string, BlockReader>();

function readerFor(config: BlockReaderConfig): BlockReader {
  const key = JSON.stringify(config);
  let reader = readers.get(key);
  if (!reader) {
    reader = openBlockReader(config);
    readers.set(key, reader);
  }
  return reader;
}

/** Loads the task's blocks in order, reading the next while the current one is scanned. */
async function forEachBlock(task: ScanTask, stats: QueryStatistics, warnings: string[], visit: (block: BlockData) => void): Promise<void> {
  const reader = readerFor(task.blockReader);
  const read = (i: number) => reader.read(task.blocks[i]!.location, task.blocks[i]!.stream);
  let pending = task.blocks.length > 0 ? read(0) : null;
  for (let i = 0; i < task.blocks.length; i++) {
    const block = await pending!;
    pending = i + 1 < task.blocks.length ? read(i + 1) : null;
    stats.blocksRead++;
    if (block.unreadable !== undefined) warnings.push(...block.unreadable);
    visit(block);
  }
}

async function run(task: ScanTask): Promise<ScanReply> {
  const stats: QueryStatistics = { bytesProcessed: 0, linesProcessed: 0, blocksRead: 0, blocksSkipped: 0, execTimeSeconds: 0 };
  const warnings: string[] = [];
  try {
    if (task.kind === 'logs') {
      const pipeline = selectPipeline(task.expr);
      const candidates: Candidate[] = [];
      await forEachBlock(task, stats, warnings, (block) => {
        for (const candidate of scanLogBlocks([block], pipeline, task.options, { stats })) candidates.push(candidate);
        releaseBlockColumns(block);
      });
      return { id: task.id, candidates, stats, warnings };
    }
    const collector = createSampleCollector(task.node, task.baseNs, task.stepsNs);
    const options = { startNs: task.startNs, endNs: task.endNs };
    await forEachBlock(task, stats, warnings, (block) => {
      if (!collector.countBlock(block, options, stats)) scanBlock(block, collector.pipeline, options, { stats }, collector.visit, collector.needLine);
      // Read from its part for this task alone: nothing else holds it.
      releaseBlockColumns(block);
    });
    return { id: task.id, series: [...collector.series.values()], stats, warnings };
  } catch (error) {
    const failure = error as Error;
    return { id: task.id, error: { name: failure.name, message: failure.message } };
  }
}

parentPort?.on('message', (task: ScanTask) => {
  void run(task).then((reply) => parentPort!.postMessage(reply));
});
