// Helpers for TSDB tests: a temp directory with a filesystem object store, and readers that turn
// selections into plain arrays.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemObjectStore } from '../../src/objstore/filesystem-store.ts';
import type { ObjectStore } from '../../src/objstore/object-store.ts';
import { openTsdb, type Tsdb, type TsdbOptions } from '../../src/tsdb/tsdb.ts';
import type { SeriesSamples } from '../../src/tsdb/types.ts';

export const HOUR_MS = 3_600_000;
/** A 2 h-aligned start, so block boundaries in tests are predictable. */
export const T0 = Date.UTC(2026, 0, 1);

export interface TempTsdb {
  dir: string;
  objectStore: ObjectStore;
  open(overrides?: Partial<TsdbOptions>): Promise<Tsdb>;
  cleanup(): Promise<void>;
}

export async function tempTsdb(name: string, objectStore?: ObjectStore): Promise<TempTsdb> {
  const dir = await mkdtemp(join(tmpdir(), `rankscope-tsdb-${name}-`));
  const store = objectStore ?? new FilesystemObjectStore(join(dir, 'objects'));
  return {
    dir,
    objectStore: store,
    open: (overrides = {}) => openTsdb({ walDirectory: join(dir, 'wal'), objectStore: store, maintenanceIntervalMs: 0, now: () => T0 + 48 * HOUR_MS, ...overrides }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** `name{labels} → [[t, v|'stale'], …]`, sorted by series. */
export function flatten(series: SeriesSamples[]): Record<string, Array<[number, number | string]>> {
  const out: Record<string, Array<[number, number | string]>> = {};
  for (const entry of series) {
    const key = Object.keys(entry.labels).sort().map((name) => `${name}=${entry.labels[name]}`).join(',');
    out[key] = [...entry.timestampsMs].map((t, i) => [t, entry.stale?.[i] === 1 ? 'stale' : entry.values[i]!]);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export const ALL = [{ name: '__name__', type: '=~' as const, value: '.+' }];
