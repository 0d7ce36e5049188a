// Byte volume per label group for /index/volume and /index/volume_range, computed from block metadata
// the store already holds in memory (no block reads), as Loki answers these from its index.

import type { Labels } from '../push/types.ts';
import type { LabelMatcher, LogStore } from '../store/types.ts';
import { encodeLabels } from './loki-json.ts';
import type { TimeBounds } from './query-params.ts';

const NS_PER_MS = 1_000_000n;

export interface VolumeSeries {
  labels: Labels;
  totalBytes: number;
  bucketBytes: Map<number, number>;
}

/**
 * Byte volume per group from block metadata only (no block reads), as Loki answers from its index.
 * A block's bytes are spread evenly over the steps its time span covers.
 */
export async function computeVolume(
  store: LogStore,
  tenant: string,
  matchers: LabelMatcher[],
  bounds: TimeBounds,
  options: { aggregateBy: 'series' | 'labels'; targetLabels: string[]; stepMs: number },
): Promise<VolumeSeries[]> {
  const blocks = await store.selectBlocks({ tenant, matchers, startNs: bounds.startNs, endNs: bounds.endNs + 1n });
  // Loki groups by the selector's label names unless targetLabels are given.
  const groupBy = options.targetLabels.length > 0 ? options.targetLabels : [...new Set(matchers.map((matcher) => matcher.name))];
  const groups = new Map<string, VolumeSeries>();
  const startMs = Number(bounds.startNs / NS_PER_MS);
  const endMs = Number(bounds.endNs / NS_PER_MS);
  const add = (labels: Labels, bytes: number, minMs: number, maxMs: number) => {
    const key = encodeLabels(labels);
    let group = groups.get(key);
    if (group === undefined) {
      group = { labels, totalBytes: 0, bucketBytes: new Map() };
      groups.set(key, group);
    }
    group.totalBytes += bytes;
    if (options.stepMs > 0) {
      const firstStep = Math.max(0, Math.ceil((Math.max(minMs, startMs) - startMs) / options.stepMs));
      const lastStep = Math.max(firstStep, Math.ceil((Math.min(maxMs, endMs) - startMs) / options.stepMs));
      const share = bytes / (lastStep - firstStep + 1);
      for (let step = firstStep; step <= lastStep; step++) {
        // Buckets are (t − step, t]; the last one closes at `end` rather than past it.
        const timeMs = Math.min(startMs + step * options.stepMs, endMs);
        group.bucketBytes.set(timeMs, (group.bucketBytes.get(timeMs) ?? 0) + share);
      }
    }
  };
  for (const block of blocks) {
    const minMs = Number(block.minTimeNs / NS_PER_MS);
    const maxMs = Number(block.maxTimeNs / NS_PER_MS);
    if (options.aggregateBy === 'labels') {
      for (const name of groupBy.length > 0 ? groupBy : Object.keys(block.stream.labels)) {
        if (Object.hasOwn(block.stream.labels, name)) add({ [name]: '' }, block.rawBytes, minMs, maxMs);
      }
      continue;
    }
    const labels: Labels = {};
    for (const name of groupBy) if (Object.hasOwn(block.stream.labels, name)) labels[name] = block.stream.labels[name]!;
    add(groupBy.length > 0 ? labels : block.stream.labels, block.rawBytes, minMs, maxMs);
  }
  return [...groups.values()];
}
