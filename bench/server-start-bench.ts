// `rankscope server` from its prebuilt bundle (dist/server/, scripts/build-server.mjs) against the
// same tree's .ts sources (RANKSCOPE_PREBUILT=0), alternating, in the same run: time from spawn to
// GET /ready answering 200, RSS of the idle server once ready, then RSS with worker threads running
// (one block encoder, two LogQL scan workers; each loads its own copy of the code): after 20 MB of
// pushes and POST /flush, and after a metric query big enough for a parallel scan.
// Usage: node bench/server-start-bench.ts [--rounds N]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadPrebuiltCommand } from '../src/cli/prebuilt.mjs';
import { startServerChild } from './server-child.ts';

const MB = 1024 * 1024;
const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
if ((await loadPrebuiltCommand(root, 'server')) === undefined) {
  throw new Error('no current server bundle: run `node scripts/build-server.mjs` first (after any source change)');
}

interface Sample {
  startSeconds: number;
  idleRssBytes: number;
  flushedRssBytes: number;
  queriedRssBytes: number;
}

async function expectOk(response: Response): Promise<string> {
  const body = await response.text();
  if (!response.ok) throw new Error(`${response.url}: ${response.status} ${body}`);
  return body;
}

/** 20 MB of lines in 1 MB pushes (a parallel scan needs 16 MiB of persisted blocks), then a flush. */
async function pushAndFlush(url: string, nowNs: bigint): Promise<void> {
  for (let push = 0; push < 20; push++) {
    const values: [string, string][] = [];
    for (let i = 0; i < 10_000; i++) {
      const index = push * 10_000 + i;
      values.push([String(nowNs - 60_000_000_000n + BigInt(index) * 1000n), `step ${index} loss ${(index % 97) / 10} ${'x'.repeat(70)}`]);
    }
    const body = JSON.stringify({ streams: [{ stream: { job: 'start-bench' }, values }] });
    await expectOk(await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
  }
  await expectOk(await fetch(`${url}/flush`, { method: 'POST' }));
}

async function startOnce(prebuilt: boolean): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-start-bench-'));
  const config = join(dir, 'server.yaml');
  writeFileSync(config, 'store:\n  encoder_threads: 1\nquery:\n  worker_threads: 2\n');
  process.env.RANKSCOPE_PREBUILT = prebuilt ? '1' : '0';
  try {
    const startedMs = performance.now();
    const server = await startServerChild(root, join(dir, 'data'), config);
    const startSeconds = (performance.now() - startedMs) / 1000;
    const idleRssBytes = server.usage().rssBytes;
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    await pushAndFlush(server.url, nowNs);
    const flushedRssBytes = server.usage().rssBytes;
    const query = new URLSearchParams({ query: 'sum(count_over_time({job="start-bench"} |= "loss" [10m]))', time: String(nowNs) });
    const answer = JSON.parse(await expectOk(await fetch(`${server.url}/loki/api/v1/query?${query}`))) as { data: { result: { value: [number, string] }[] } };
    if (answer.data.result[0]?.value[1] !== '200000') throw new Error(`the query counted ${JSON.stringify(answer.data.result)}, not 200000 lines`);
    const queriedRssBytes = server.usage().rssBytes;
    const { exitCode } = await server.stop();
    if (exitCode !== 0) throw new Error(`server exited with ${exitCode}: ${server.output()}`);
    return { startSeconds, idleRssBytes, flushedRssBytes, queriedRssBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (numbers: number[]): number => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const samples: Record<'sources' | 'bundle', Sample[]> = { sources: [], bundle: [] };
for (let round = 0; round < rounds; round++) {
  samples.sources.push(await startOnce(false));
  samples.bundle.push(await startOnce(true));
}
const summary = Object.fromEntries(
  Object.entries(samples).map(([kind, list]) => [
    kind,
    {
      startSeconds: median(list.map((sample) => sample.startSeconds)),
      idleRssMb: median(list.map((sample) => sample.idleRssBytes)) / MB,
      flushedRssMb: median(list.map((sample) => sample.flushedRssBytes)) / MB,
      queriedRssMb: median(list.map((sample) => sample.queriedRssBytes)) / MB,
    },
  ]),
) as Record<'sources' | 'bundle', { startSeconds: number; idleRssMb: number; flushedRssMb: number; queriedRssMb: number }>;
const { sources, bundle } = summary;
console.log(`server start-up, median of ${rounds} alternating rounds (node bench/server-start-bench.ts --rounds ${rounds}):`);
console.log(`  ${'to /ready:'.padEnd(40)} bundle ${bundle.startSeconds.toFixed(2)} s, sources ${sources.startSeconds.toFixed(2)} s (${(bundle.startSeconds / sources.startSeconds).toFixed(2)}×)`);
const rss = (label: string, key: 'idleRssMb' | 'flushedRssMb' | 'queriedRssMb'): void =>
  console.log(`  ${label.padEnd(40)} bundle ${bundle[key].toFixed(1)} MB, sources ${sources[key].toFixed(1)} MB (${(bundle[key] / sources[key]).toFixed(2)}×)`);
rss('RSS idle:', 'idleRssMb');
rss('RSS after 20 MB + /flush (1 encoder):', 'flushedRssMb');
rss('RSS after a parallel scan (+2 workers):', 'queriedRssMb');
console.log(JSON.stringify({ command: `node bench/server-start-bench.ts --rounds ${rounds}`, rounds, ...summary }));
