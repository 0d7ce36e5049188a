// Reads the node's /proc and /sys files once per interval and stamps the values as samples. The
// roots are configurable so tests (and containers that mount the host's /proc at /host/proc) can
// point them elsewhere. A file that cannot be read is skipped for that round, and said once.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Labels } from '../../push/types.ts';
import { readInfiniband } from './infiniband.ts';
import type { MetricSample } from './metric-sample.ts';
import { parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseProcStat, type NodeValue } from './node-proc.ts';

export interface NodeCollectorOptions {
  procRoot: string;
  sysRoot: string;
  /** Labels on every series (host=…). */
  labels: Labels;
  log: (message: string) => void;
}

const PROC_FILES: readonly { path: string; parse: (text: string) => NodeValue[] }[] = [
  { path: 'stat', parse: parseProcStat },
  { path: 'meminfo', parse: parseMeminfo },
  { path: 'loadavg', parse: parseLoadavg },
  { path: 'diskstats', parse: parseDiskstats },
  { path: 'net/dev', parse: parseNetDev },
];

export class NodeCollector {
  private readonly options: NodeCollectorOptions;
  private readonly reportedUnreadable = new Set<string>();

  constructor(options: NodeCollectorOptions) {
    this.options = options;
  }

  collect(timestampMs = Date.now()): MetricSample[] {
    const values: NodeValue[] = [];
    for (const file of PROC_FILES) {
      const path = join(this.options.procRoot, file.path);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        if (!this.reportedUnreadable.has(path)) {
          this.reportedUnreadable.add(path);
          this.options.log(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); its node metrics are skipped`);
        }
        continue;
      }
      values.push(...file.parse(text));
    }
    values.push(...readInfiniband(this.options.sysRoot));
    return values.map((value) => ({ labels: { ...this.options.labels, ...value.labels, __name__: value.name }, value: value.value, timestampMs }));
  }
}
