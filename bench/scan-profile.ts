// Engine scan speed on a real disk store: generates the synthetic training log into a fresh store
// (flushed to parts, so blocks are read from disk), then times the bench's filter queries with one
// thread and with worker threads, reporting raw GB per CPU second of this process (workers included).
//   node_modules/.bin/node bench/scan-profile.ts [--size-mb 128] [--threads 2] [--repeat 3] [--keep DIR]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateTrainingLog, syntheticLabels } from './synthetic-log.ts';
import { openStore } from '../src/store/store.ts';
import { createEngine } from '../src/logql/index.ts';
import type { PushEntry } from '../src/store/types.ts';

const { values } = parseArgs({ options: { 'size-mb': { type: 'string', default: '128' }, threads: { type: 'string', default: '2' }, repeat: { type: 'string', default: '3' } } });
const targetBytes = Number(values['size-mb']) * 1024 * 1024;
const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-scan-profile-'));
const store = await openStore({ dataDir, walFsync: false, headCutBytes: 64 * 1024 * 1024, headCutAgeMs: 3_600_000, blockTargetBytes: 2 * 1024 * 1024, compactionIntervalMs: 0, retentionPeriodMs: 0 });
let rawBytes = 0;
let firstNs = 0n;
let lastNs = 0n;
const pending = new Map<string, { labels: Record<string, string>; entries: PushEntry[] }>();
let pendingBytes = 0;
const flushPending = async () => {
  if (pending.size === 0) return;
  await store.append('fake', [...pending.values()]);
  pending.clear();
  pendingBytes = 0;
};
for (const entry of generateTrainingLog({ seed: 42 })) {
  const labels = syntheticLabels(entry);
  const key = JSON.stringify(labels);
  let batch = pending.get(key);
  if (!batch) pending.set(key, (batch = { labels, entries: [] }));
  batch.entries.push({ timestampNs: entry.timestampNs, line: entry.line });
  if (firstNs === 0n) firstNs = entry.timestampNs;
  lastNs = entry.timestampNs;
  rawBytes += entry.line.length + 1;
  pendingBytes += entry.line.length;
  if (pendingBytes >= 1024 * 1024) {
    await flushPending();
    // Cut heads into parts as the server would, so the scan reads blocks from disk.
    if (rawBytes % (32 * 1024 * 1024) < pendingBytes + 1024 * 1024) await store.flush();
  }
  if (rawBytes >= targetBytes) break;
}
await flushPending();
console.log("appended", performance.now());
await store.flush();
console.log(`${(rawBytes / 1e6).toFixed(0)} MB raw over ${Number(lastNs - firstNs) / 3.6e12} h`);

const queries = [
  'sum(count_over_time({job="train"} |= "loss" [1h]))',
  'sum by (rank) (count_over_time({job="train"} |= "loss" [1m]))',
  'sum(count_over_time({job="train"} |~ "(?i)(error|fail)" [1h]))',
];
const threadCounts = [1, Number(values.threads)];
try {
  for (const threads of threadCounts) {
    const engine = createEngine(store, { workerThreads: threads });
    // A server's engine exists long before its first query: let eagerly started workers come up.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (const query of queries) {
      const step = query.includes('[1m]') ? 60_000 : 3_600_000;
      const params = { tenant: 'fake', query, startNs: firstNs, endNs: lastNs + 3_600_000_000_000n, stepMs: step, intervalMs: 0, limit: 100, direction: 'backward' as const, instant: false };
      const times: string[] = [];
      for (let round = 0; round < Number(values.repeat); round++) {
        const cpu = process.cpuUsage();
        const start = performance.now();
        const result = await engine.query(params);
        const wallMs = performance.now() - start;
        const used = process.cpuUsage(cpu);
        const cpuS = (used.user + used.system) / 1e6;
        let total = 0;
        if (result.resultType === 'matrix') for (const s of result.series) for (const [, v] of s.samples) total += v;
        times.push(`${wallMs.toFixed(0)} ms wall, ${(rawBytes / cpuS / 1e9).toFixed(2)} GB/s/core (sum ${total})`);
      }
      console.log(`threads=${threads} ${query}\n  ${times.join('\n  ')}`);
    }
  }
} finally {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
}
