// `rankscope server` from its prebuilt bundle (dist/server/, scripts/build-server.mjs) against the
// same tree's .ts sources (RANKSCOPE_PREBUILT=0), alternating, in the same run: time from spawn to
// GET /ready answering 200, and RSS of the idle server once ready.
// Usage: node bench/server-start-bench.ts [--rounds N]
import { mkdtempSync, rmSync } from 'node:fs';
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
}

async function startOnce(prebuilt: boolean): Promise<Sample> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-start-bench-'));
  process.env.RANKSCOPE_PREBUILT = prebuilt ? '1' : '0';
  try {
    const startedMs = performance.now();
    const server = await startServerChild(root, dataDir, undefined);
    const startSeconds = (performance.now() - startedMs) / 1000;
    const idleRssBytes = server.usage().rssBytes;
    const { exitCode } = await server.stop();
    if (exitCode !== 0) throw new Error(`server exited with ${exitCode}: ${server.output()}`);
    return { startSeconds, idleRssBytes };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
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
    { startSeconds: median(list.map((sample) => sample.startSeconds)), idleRssMb: median(list.map((sample) => sample.idleRssBytes)) / MB },
  ]),
) as Record<'sources' | 'bundle', { startSeconds: number; idleRssMb: number }>;
const { sources, bundle } = summary;
console.log(`server start-up, median of ${rounds} alternating rounds (node bench/server-start-bench.ts --rounds ${rounds}):`);
console.log(`  to /ready: bundle ${bundle.startSeconds.toFixed(2)} s, sources ${sources.startSeconds.toFixed(2)} s (${(bundle.startSeconds / sources.startSeconds).toFixed(2)}×)`);
console.log(`  idle RSS:  bundle ${bundle.idleRssMb.toFixed(1)} MB, sources ${sources.idleRssMb.toFixed(1)} MB (${(bundle.idleRssMb / sources.idleRssMb).toFixed(2)}×)`);
console.log(JSON.stringify({ command: `node bench/server-start-bench.ts --rounds ${rounds}`, rounds, ...summary }));
