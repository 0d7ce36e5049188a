// What the scan byte budget (store.memory.scan_bytes) does to a server under many concurrent
// queries: the training log pushed once and flushed, then for each budget a fresh server on that
// data answers `--clients` heavy metric and log queries at once (query.max_concurrent and
// limits.max_concurrent_queries raised so that all of them evaluate together), a few rounds. Prints
// each budget's peak RSS growth over the idle server, the budget's own peak and waits, and the
// queries' wall and server CPU time, every answer checked against the first budget's.
//   node bench/scan-budget-bench.ts [--size-mb 64] [--clients 16] [--rounds 3] [--budgets 8MB,32MB,4GB]

import { parseArgs } from 'node:util';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDataset } from './dataset.ts';
import { runIngest } from './ingest-bench.ts';
import { FLUSH_TIMEOUT_MS, startServerChild, unthrottledServerConfig } from './server-child.ts';
import { formatBytes, formatNumber } from './report.ts';

const MB = 1_000_000;
const repoRoot = join(import.meta.dirname, '..');

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '64' },
    clients: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    budgets: { type: 'string', default: '8MB,32MB,4GB' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'out', 'scan-budget') },
  },
});
const clients = Math.max(1, Number(values.clients));
const rounds = Math.max(1, Number(values.rounds));
const budgets = values.budgets.split(',').map((budget) => budget.trim());
const log = (message: string): void => console.error(`[scan-budget ${new Date().toISOString().slice(11, 19)}] ${message}`);

const outDir = values.out;
const dataDir = join(outDir, 'server-data');
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
const sizeBytes = Number(values['size-mb']) * MB;
const spanSeconds = sizeBytes / 4_500;
const startTimeNs = BigInt(Math.floor(Date.now() / 1000 - spanSeconds - 3600)) * 1_000_000_000n;
log(`generating ${formatBytes(sizeBytes)} of training logs…`);
const dataset = await buildDataset({ dir: join(outDir, 'raw'), sizeBytes, seed: 42, batchBytes: 1_000_000, startTimeNs });

const configFor = async (budget: string): Promise<string> => {
  const path = join(outDir, `server-${budget}.yaml`);
  await writeFile(
    path,
    unthrottledServerConfig('bench/scan-budget-bench.ts') +
      `  max_concurrent_queries: ${clients}\n  max_query_series: 100000\nquery:\n  max_concurrent: ${clients}\nstore:\n  memory:\n    scan_bytes: ${budget}\n`,
  );
  return path;
};

log('pushing and flushing…');
{
  const server = await startServerChild(repoRoot, dataDir, await configFor(budgets[0]!));
  try {
    await runIngest(server, dataset.batches, 4);
    const response = await fetch(`${server.url}/flush`, { method: 'POST', signal: AbortSignal.timeout(FLUSH_TIMEOUT_MS) });
    if (response.status !== 204) throw new Error(`POST /flush answered ${response.status}`);
  } finally {
    await server.stop();
  }
}

const startS = Number(dataset.firstTimestampNs / 1_000_000_000n) - 1;
const endS = Number(dataset.lastTimestampNs / 1_000_000_000n) + 1;
const queries = [
  `/loki/api/v1/query_range?query=${encodeURIComponent('sum by (rank) (count_over_time({job="train"} |= "loss" [1m]))')}&start=${startS}&end=${endS}&step=60`,
  `/loki/api/v1/query_range?query=${encodeURIComponent('sum by (rank) (count_over_time({job="train"} |~ "(?i)(error|fail)" [5m]))')}&start=${startS}&end=${endS}&step=300`,
  `/loki/api/v1/query_range?query=${encodeURIComponent('{job="train"} |~ "(?i)nccl.*(timeout|error)"')}&start=${startS}&end=${endS}&limit=1000&direction=forward`,
];

interface Figures {
  budget: string;
  rssGrowthBytes: number;
  peakBudgetBytes: number;
  waits: number;
  wallSeconds: number;
  cpuSeconds: number;
  answers: string[];
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `) || candidate.startsWith(`${name}{`));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const results: Figures[] = [];
for (const budget of budgets) {
  log(`budget ${budget}: ${clients} clients × ${rounds} rounds…`);
  const server = await startServerChild(repoRoot, dataDir, await configFor(budget));
  try {
    // One query first, so the scan workers and the engine's modules are loaded before the idle figure.
    await (await fetch(`${server.url}${queries[0]}`)).text();
    const idle = server.usage();
    const startedMs = performance.now();
    const answers: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const replies = await Promise.all(
        Array.from({ length: clients }, async (_, i) => {
          const response = await fetch(`${server.url}${queries[i % queries.length]}`, { signal: AbortSignal.timeout(600_000) });
          const body = (await response.json()) as { status: string; data: { result: unknown } };
          if (response.status !== 200) throw new Error(`query answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
          return JSON.stringify(body.data.result);
        }),
      );
      if (round === 0) answers.push(...replies.slice(0, queries.length));
    }
    const usage = server.usage();
    results.push({
      budget,
      rssGrowthBytes: usage.peakRssBytes - idle.rssBytes,
      peakBudgetBytes: await metric(server.url, 'rankscope_scan_budget_peak_bytes'),
      waits: await metric(server.url, 'rankscope_scan_budget_waits_total'),
      wallSeconds: (performance.now() - startedMs) / 1000,
      cpuSeconds: usage.cpuSeconds - idle.cpuSeconds,
      answers,
    });
  } finally {
    await server.stop();
  }
}

const reference = results[0]!;
console.log(`${formatBytes(dataset.rawBytes)} stored; ${clients} concurrent queries × ${rounds} rounds (3 kinds in turn)`);
console.log('budget     peak RSS over idle   budget peak   waits   wall s   server CPU-s   answers');
for (const figures of results) {
  const same = figures.answers.every((answer, i) => answer === reference.answers[i]);
  console.log(
    `${figures.budget.padEnd(10)} ${formatBytes(figures.rssGrowthBytes).padStart(18)}   ${formatBytes(figures.peakBudgetBytes).padStart(11)}   ${String(figures.waits).padStart(5)}   ${formatNumber(figures.wallSeconds).padStart(6)}   ${formatNumber(figures.cpuSeconds).padStart(12)}   ${same ? 'same' : 'DIFFERENT'}`,
  );
}
console.log(JSON.stringify({ command: `node bench/scan-budget-bench.ts ${process.argv.slice(2).join(' ')}`.trim(), results: results.map(({ answers: _answers, ...rest }) => rest) }));
