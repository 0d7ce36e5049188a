// The GPU verdict as a table: what each rank's logs say (silent since when) against what its GPU
// reads, and the verdict the run page shows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeGpus, type GpuJudgeOptions, type RankActivity, type RankGpuSeries } from '../../src/training/gpu-correlation.ts';

const NOW_MS = 1_800_000_000_000;
const SILENT_SINCE_MS = NOW_MS - 120_000;

/** Samples every 5 s over [fromMs, toMs] at one percentage. */
function flat(fromMs: number, toMs: number, percent: number): Array<[number, number]> {
  const points: Array<[number, number]> = [];
  for (let t = fromMs; t <= toMs; t += 5000) points.push([t, percent]);
  return points;
}

function gpu(rank: number, points: Array<[number, number]>): RankGpuSeries {
  return { rank, gpu: String(rank), uuid: `GPU-${rank}`, host: `node-${Math.floor(rank / 2)}`, points };
}

function logging(rank: number): RankActivity {
  return { rank, silent: false, lastLineMs: NOW_MS - 1000, lastLine: 'step 900 loss 2.1' };
}

function silent(rank: number, sinceMs = SILENT_SINCE_MS): RankActivity {
  return { rank, silent: true, lastLineMs: sinceMs, lastLine: 'step 412 loss 2.4' };
}

interface Case {
  name: string;
  status: GpuJudgeOptions['runStatus'];
  ranks: RankActivity[];
  gpus: RankGpuSeries[];
  kind: string | null;
  ranksNamed?: number[];
  summary?: RegExp;
}

const BEFORE = NOW_MS - 600_000;
const CASES: Case[] = [
  {
    name: 'every rank silent, every GPU at 100% after the last line: NCCL deadlock',
    status: 'hung',
    ranks: [silent(0), silent(1, SILENT_SINCE_MS + 300)],
    gpus: [gpu(0, [...flat(BEFORE, SILENT_SINCE_MS, 95), ...flat(SILENT_SINCE_MS + 5000, NOW_MS, 100)]), gpu(1, flat(BEFORE, NOW_MS, 99))],
    kind: 'nccl_deadlock',
    ranksNamed: [0, 1],
    summary: /^The run is hung, yet the GPUs of ranks 0, 1 read 99–100% busy since they went silent: the NCCL-deadlock signature/,
  },
  {
    name: 'a hung run whose silent GPUs are idle: a plain hang, nothing to add',
    status: 'hung',
    ranks: [silent(0), silent(1)],
    gpus: [gpu(0, flat(BEFORE, NOW_MS, 0)), gpu(1, flat(BEFORE, NOW_MS, 2))],
    kind: null,
  },
  {
    name: 'busy before the silence and idle after: the busy past does not count',
    status: 'hung',
    ranks: [silent(0)],
    gpus: [gpu(0, [...flat(BEFORE, SILENT_SINCE_MS, 100), ...flat(SILENT_SINCE_MS + 5000, NOW_MS, 0)])],
    kind: null,
  },
  {
    name: 'one of two silent ranks busy: that rank is stuck, not a whole-run deadlock',
    status: 'hung',
    ranks: [silent(0), silent(1)],
    gpus: [gpu(0, flat(BEFORE, NOW_MS, 100)), gpu(1, flat(BEFORE, NOW_MS, 0))],
    kind: 'busy_silent_rank',
    ranksNamed: [0],
    summary: /^rank 0 stopped logging while its GPU reads 100% busy/,
  },
  {
    name: 'a silent rank with two samples after its last line is not judged yet',
    status: 'hung',
    ranks: [silent(0, NOW_MS - 8000)],
    gpus: [gpu(0, flat(BEFORE, NOW_MS, 100))],
    kind: null,
  },
  {
    name: 'a running rank whose GPU stays under 10% for the idle window: idle GPU',
    status: 'running',
    ranks: [logging(0), logging(1)],
    gpus: [gpu(0, flat(BEFORE, NOW_MS, 97)), gpu(1, flat(BEFORE, NOW_MS, 3))],
    kind: 'idle_gpu',
    ranksNamed: [1],
    summary: /^rank 1 keeps logging while its GPU has been under 10% for 2 minutes/,
  },
  {
    name: 'one busy spike inside the idle window: not idle',
    status: 'running',
    ranks: [logging(0)],
    gpus: [gpu(0, [...flat(NOW_MS - 110_000, NOW_MS - 60_000, 2), [NOW_MS - 55_000, 90], ...flat(NOW_MS - 50_000, NOW_MS, 2)])],
    kind: null,
  },
  {
    name: 'an idle GPU seen for less than half the window: not judged',
    status: 'running',
    ranks: [logging(0)],
    gpus: [gpu(0, flat(NOW_MS - 40_000, NOW_MS, 0))],
    kind: null,
  },
  {
    name: 'a healthy run: busy GPUs under logging ranks',
    status: 'running',
    ranks: [logging(0), logging(1)],
    gpus: [gpu(0, flat(BEFORE, NOW_MS, 96)), gpu(1, flat(BEFORE, NOW_MS, 98))],
    kind: null,
  },
  {
    name: 'a finished run with idle GPUs (they were released): nothing',
    status: 'finished',
    ranks: [logging(0)],
    gpus: [gpu(0, flat(BEFORE, NOW_MS, 0))],
    kind: null,
  },
  {
    name: 'GPU series of a rank the logs do not know are ignored',
    status: 'hung',
    ranks: [silent(0)],
    gpus: [gpu(0, flat(BEFORE, NOW_MS, 0)), gpu(7, flat(BEFORE, NOW_MS, 100))],
    kind: null,
  },
];

for (const one of CASES) {
  test(one.name, () => {
    const verdict = judgeGpus(one.ranks, one.gpus, { runStatus: one.status, nowMs: NOW_MS });
    assert.equal(verdict?.kind ?? null, one.kind);
    if (verdict === null) return;
    assert.deepEqual(verdict.findings.map((finding) => finding.rank), one.ranksNamed);
    if (one.summary) assert.match(verdict.summary, one.summary);
  });
}

test('a deadlock finding carries its evidence: since when the rank is silent, its last line, the GPU and what it read', () => {
  const verdict = judgeGpus([silent(3)], [gpu(3, [...flat(BEFORE, SILENT_SINCE_MS, 60), [SILENT_SINCE_MS + 1000, 88], ...flat(SILENT_SINCE_MS + 5000, NOW_MS, 100)])], { runStatus: 'hung', nowMs: NOW_MS });
  assert.equal(verdict?.kind, 'nccl_deadlock');
  const [finding] = verdict!.findings;
  assert.equal(finding!.silentSinceMs, SILENT_SINCE_MS);
  assert.equal(finding!.lastLine, 'step 412 loss 2.4');
  assert.deepEqual([finding!.gpu, finding!.uuid, finding!.host], ['3', 'GPU-3', 'node-1']);
  assert.equal(finding!.minPercent, 88);
  assert.equal(finding!.samples, 25);
  assert.ok(finding!.meanPercent > 99 && finding!.meanPercent < 100, String(finding!.meanPercent));
});
