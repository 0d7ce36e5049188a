// The tracker's rank state as a metric (rankscope_training_rank_silent), on a clock the test holds:
// 0 for ranks that log, 1 for a hung rank, 1 for every rank once a hung run's log has ended, and
// staleness markers when the run is no longer live.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainingConfigSchema } from '../../src/training/config.ts';
import { RANK_SILENT_METRIC, RunTracker, type RankStateSeries } from '../../src/training/run-tracker.ts';

const T0_MS = 1_800_000_000_000;

function stepLines(tracker: RunTracker, rank: number, fromMs: number, toMs: number): void {
  for (let t = fromMs; t <= toMs; t += 1000) {
    tracker.ingest('fake', [{ labels: { run_id: 'run-a', rank: String(rank), host: 'node-0' }, entries: [{ timestampNs: BigInt(t) * 1_000_000n, line: `step ${(t - T0_MS) / 1000} loss 2.1` }] }], t);
  }
}

test('rank state: 0 while logging, 1 once hung, 1 for every rank of a hung run whose log ended, stale once the run is not live', async () => {
  const written: Array<{ atMs: number; series: RankStateSeries[] }> = [];
  const tracker = new RunTracker({
    config: trainingConfigSchema.parse({ hang_floor: '2s', hang_interval_multiple: 3, finalize_after: '5s' }),
    emitSamples: async (_tenant, series) => void written.push({ atMs: series[0]!.samples[0]!.timestampMs, series }),
  });
  const stateAt = async (nowMs: number): Promise<Array<[string, number | 'stale']>> => {
    written.length = 0;
    await tracker.check(nowMs);
    return (written[0]?.series ?? []).map((one) => {
      assert.equal(one.labels.__name__, RANK_SILENT_METRIC);
      assert.equal(one.labels.run_id, 'run-a');
      assert.equal(one.labels.host, 'node-0');
      const sample = one.samples[0]!;
      assert.equal(sample.timestampMs, nowMs);
      return [one.labels.rank!, sample.stale === true ? 'stale' : sample.value];
    });
  };

  stepLines(tracker, 0, T0_MS, T0_MS + 10_000);
  stepLines(tracker, 1, T0_MS, T0_MS + 10_000);
  assert.deepEqual(await stateAt(T0_MS + 10_500), [
    ['0', 0],
    ['1', 0],
  ]);
  // Rank 0 stops; rank 1 logs on for 6 s: rank 0 is hung, rank 1 logging.
  stepLines(tracker, 1, T0_MS + 11_000, T0_MS + 16_000);
  assert.deepEqual(await stateAt(T0_MS + 16_200), [
    ['0', 1],
    ['1', 0],
  ]);
  // Nothing more arrives: the log has ended with rank 0 hung, so every rank is stopped.
  assert.deepEqual(await stateAt(T0_MS + 25_000), [
    ['0', 1],
    ['1', 1],
  ]);
  // Fifteen minutes later the run is no longer live: its series end.
  assert.deepEqual(await stateAt(T0_MS + 16 * 60_000 + 25_000), [
    ['0', 'stale'],
    ['1', 'stale'],
  ]);
  // And nothing is written for it after that.
  assert.deepEqual(await stateAt(T0_MS + 17 * 60_000), []);
});

test('a failing metrics store is logged, and the next check writes the state again', async () => {
  const logged: string[] = [];
  let fail = true;
  const accepted: RankStateSeries[][] = [];
  const tracker = new RunTracker({
    config: trainingConfigSchema.parse({}),
    emitSamples: async (_tenant, series) => {
      if (fail) throw new Error('disk full');
      accepted.push(series);
    },
    log: (message) => logged.push(message),
  });
  stepLines(tracker, 0, T0_MS, T0_MS + 5000);
  await tracker.check(T0_MS + 5500);
  assert.deepEqual(logged, [`cannot write ${RANK_SILENT_METRIC} for tenant fake: disk full`]);
  fail = false;
  await tracker.check(T0_MS + 6000);
  assert.equal(accepted.length, 1);
  assert.deepEqual(accepted[0]!.map((one) => [one.labels.rank, one.samples[0]!.value]), [['0', 0]]);
});
