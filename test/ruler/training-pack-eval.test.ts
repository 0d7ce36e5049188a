// The training pack's LogQL, evaluated by the real engine over a real store holding a hand-built
// incident: each rule finds exactly the rank (or launcher) where its failure happened, keyed on the
// run (whichever run label the stream has), and its annotation names it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../../src/logql/index.ts';
import { parseRuleFile, type RuleDefinition } from '../../src/ruler/rule-file.ts';
import { TRAINING_RULES_PATH } from '../../src/ruler/index.ts';
import { resultSamples } from '../../src/ruler/rule-group.ts';
import { expandAlertTemplate } from '../../src/ruler/template-functions.ts';
import { storeConfigSchema, storeOptionsFromConfig } from '../../src/store/config.ts';
import { openStore } from '../../src/store/store.ts';
import type { AppendStream, LogStore } from '../../src/store/types.ts';

const MINUTE_NS = 60_000_000_000n;
const SECOND_NS = 1_000_000_000n;
const nowNs = (BigInt(Date.now()) / 1000n) * 1_000_000n;
let dir: string;
let store: LogStore;
let rules: Map<string, RuleDefinition>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rankscope-pack-'));
  store = await openStore(storeOptionsFromConfig(storeConfigSchema.parse({ data_dir: dir, wal: { fsync: false }, compaction_interval: 0 })));
  rules = new Map(parseRuleFile(readFileSync(TRAINING_RULES_PATH, 'utf8'), TRAINING_RULES_PATH).flatMap((g) => g.rules).map((r) => [r.name, r]));

  const streams: AppendStream[] = [];
  const rankStream = (rank: string, entries: Array<[bigint, string]>): void => {
    streams.push({ labels: { job: 'llm', rank, host: `gpu-${Math.floor(Number(rank) / 2)}`, pod: `llm-worker-${rank}` }, entries: entries.map(([timestampNs, line]) => ({ timestampNs, line })) });
  };
  // Ranks 0, 1, 3 log a step line every 10 s for the last 15 minutes; rank 2 stops 6 minutes ago.
  for (const rank of ['0', '1', '2', '3']) {
    const entries: Array<[bigint, string]> = [];
    for (let t = nowNs - 15n * MINUTE_NS; t < nowNs; t += 10n * SECOND_NS) {
      if (rank === '2' && t > nowNs - 6n * MINUTE_NS) break;
      entries.push([t, `step ${t / SECOND_NS} loss 2.1`]);
    }
    if (rank === '1') entries.push([nowNs - 30n * SECOND_NS + 1n, 'Traceback (most recent call last):\n  File "train.py", line 3, in <module>\nValueError: bad batch']);
    if (rank === '3') entries.push([nowNs - 20n * SECOND_NS + 1n, 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB']);
    if (rank === '0') {
      entries.push([nowNs - 60n * SECOND_NS + 1n, '[E1121 ProcessGroupNCCL.cpp:616] [Rank 0] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=9, OpType=ALLREDUCE) ran for 600021 milliseconds before timing out.']);
      for (let i = 0; i < 12; i++) entries.push([nowNs - BigInt(200 - i) * SECOND_NS + 2n, `2026-11-21 11:00:00,000 WARNING data/loader.py:311 slow batch fetch ${i}`]);
    }
    entries.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    rankStream(rank, entries);
  }
  streams.push({
    labels: { job: 'llm', host: 'gpu-0', component: 'launcher' },
    entries: [
      { timestampNs: nowNs - 12n * SECOND_NS, line: 'Traceback (most recent call last):\n  File "/usr/lib/python3/dist-packages/torch/distributed/elastic/agent/server/api.py", line 700, in run\nRuntimeError: rendezvous closed' },
      { timestampNs: nowNs - 10n * SECOND_NS, line: 'torch.distributed.elastic.multiprocessing.errors.ChildFailedError: train.py FAILED' },
    ],
  });
  // Pod logs the agent collected: no `job`, the run is named by torchelastic_run_id.
  streams.push({
    labels: { torchelastic_run_id: 'pytorchjob-7', rank: '5', pod: 'pytorchjob-7-worker-2', host: 'gpu-9' },
    entries: [
      { timestampNs: nowNs - 25n * SECOND_NS, line: 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.00 GiB. GPU 1 has a total capacity of 79.15 GiB' },
      {
        timestampNs: nowNs - 15n * SECOND_NS,
        line: 'torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/NCCLUtils.hpp:275, unhandled system error (run with NCCL_DEBUG=INFO for details), NCCL version 2.19.3',
      },
    ],
  });
  // The training tracker's hang event for rank 2 (src/training/run-tracker.ts writes these).
  streams.push({
    labels: { rankscope_event: 'rank_hung', run: 'llm', rank: '2', host: 'gpu-1' },
    entries: [{ timestampNs: nowNs - 5n * SECOND_NS, line: JSON.stringify({ run: 'llm', rank: 2, host: 'gpu-1', silent_since: '2026-11-21T11:00:00Z', last_line: 'step 1790 loss 2.1' }) }],
  });
  await store.append('fake', streams);
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function evaluate(name: string): Promise<Array<{ labels: Record<string, string>; value: number; summary: string }>> {
  const rule = rules.get(name)!;
  const engine = createEngine(store, { workerThreads: 1 });
  const result = await engine.query({ tenant: 'fake', query: rule.expr, startNs: nowNs, endNs: nowNs, stepMs: 0, intervalMs: 0, limit: 100, direction: 'backward', instant: true });
  return resultSamples(result).map((sample) => ({
    ...sample,
    summary: expandAlertTemplate(rule.annotations.summary!, { labels: sample.labels, value: sample.value, externalLabels: {}, externalURL: '' }),
  }));
}

test('each training rule points at the rank or launcher where the failure happened, keyed on the run', async () => {
  const traceback = (await evaluate('RankPythonTraceback')).sort((a, b) => (a.labels.rank ?? '').localeCompare(b.labels.rank ?? ''));
  assert.deepEqual(
    traceback.map((s) => s.labels),
    [
      { run: 'llm', host: 'gpu-0' },
      { run: 'llm', host: 'gpu-0', pod: 'llm-worker-1', rank: '1' },
    ],
  );
  assert.deepEqual(traceback.map((s) => s.summary), ["Python traceback in the launcher's output of run llm", 'Python traceback on rank 1 (pod llm-worker-1) of run llm']);

  const oom = await evaluate('CudaOutOfMemory');
  assert.deepEqual(oom.map((s) => `${s.labels.run}/${s.labels.rank}`), ['llm/3', 'pytorchjob-7/5']);
  assert.match(oom[0]!.summary, /rank 3 \(pod llm-worker-3\) of run llm/);
  assert.match(oom[1]!.summary, /rank 5 \(pod pytorchjob-7-worker-2\) of run pytorchjob-7/);

  const nccl = await evaluate('NcclWatchdogTimeout');
  assert.deepEqual(nccl.map((s) => s.labels.rank), ['0']);

  const ncclError = await evaluate('NcclError');
  assert.deepEqual(ncclError.map((s) => `${s.labels.run}/${s.labels.rank}`), ['pytorchjob-7/5']);

  const child = await evaluate('TorchElasticChildFailed');
  assert.deepEqual(child.map((s) => s.labels), [{ run: 'llm', host: 'gpu-0' }]);
  assert.match(child[0]!.summary, /run llm on gpu-0/);

  // 12 warnings among 3 ranks × 30 step lines (+ incident lines) in 5 minutes: about 11 %.
  const warnings = await evaluate('HighWarningRatio');
  assert.equal(warnings.length, 1);
  assert.ok(warnings[0]!.value > 0.05 && warnings[0]!.value < 0.2, `ratio ${warnings[0]!.value}`);
  assert.match(warnings[0]!.summary, /^1\d\.\d+% of run llm's log lines are warnings$/);

  const silent = await evaluate('RankSilent');
  assert.deepEqual(silent.map((s) => s.labels), [{ run: 'llm', rank: '2', host: 'gpu-1', last_line: 'step 1790 loss 2.1', silent_since: '2026-11-21T11:00:00Z' }]);
  assert.equal(silent[0]!.summary, 'Rank 2 of run llm on gpu-1 is hung');
});
