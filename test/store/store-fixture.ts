// Temp directories and store options for store tests.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoreOptions } from '../../src/store/config.ts';
import type { BlockData, BlockRef, LabelMatcher, LogSource, PushEntry } from '../../src/store/types.ts';

export async function makeTempDir(name: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `rankscope-${name}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Options with background work effectively off, so tests drive cuts and compaction themselves. */
export function testOptions(dataDir: string, overrides: Partial<StoreOptions> = {}): StoreOptions {
  return {
    dataDir,
    walFsync: true,
    headCutBytes: 256 * 1024 * 1024,
    headCutAgeMs: 3_600_000,
    blockTargetBytes: 64 * 1024,
    compactionIntervalMs: 0,
    retentionPeriodMs: 0,
    ...overrides,
  };
}

/** 2025-11-21T00:00:00Z in ns. */
export const DAY_START_NS = 1_763_683_200_000_000_000n;
export const NS_PER_SECOND = 1_000_000_000n;

export function linesOf(block: BlockData): string[] {
  const lines: string[] = [];
  for (let i = 0; i < block.lineEnds.length; i++) lines.push(block.lines.toString('utf8', i === 0 ? 0 : block.lineEnds[i - 1]!, block.lineEnds[i]!));
  return lines;
}

/** Every entry the source returns for the query, as `ts line` strings, sorted. */
export async function readAll(source: LogSource, tenant: string, matchers: LabelMatcher[] = [{ name: 'job', type: '=~', value: '.+' }]): Promise<string[]> {
  const refs = await source.selectBlocks({ tenant, matchers, startNs: 0n, endNs: 1n << 62n });
  return (await entriesOf(refs)).map((entry) => `${entry.timestampNs} ${entry.line}`).sort();
}

export async function entriesOf(refs: BlockRef[]): Promise<PushEntry[]> {
  const entries: PushEntry[] = [];
  for (const ref of refs) {
    const block = await ref.load();
    const lines = linesOf(block);
    for (let i = 0; i < lines.length; i++) entries.push({ timestampNs: block.timestampsNs[i]!, line: lines[i]! });
  }
  return entries;
}
