import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { generateTrainingLog, syntheticLabels, writeSyntheticLogs, type SyntheticLogEntry, type SyntheticLogOptions } from '../../bench/synthetic-log.ts';

function take(count: number, options: SyntheticLogOptions): SyntheticLogEntry[] {
  const entries: SyntheticLogEntry[] = [];
  for (const entry of generateTrainingLog(options)) {
    entries.push(entry);
    if (entries.length === count) break;
  }
  return entries;
}

// Short incident and checkpoint intervals so a small sample holds every kind of line.
const busy: SyntheticLogOptions = { seed: 7, incidentEverySteps: 2500, checkpointEverySteps: 500, evalEverySteps: 1000, rareLineScale: 4 };
const sample = take(150_000, busy);
const hasLine = (pattern: RegExp): boolean => sample.some((entry) => pattern.test(entry.line));

test('the same seed gives the same entries; another seed gives different ones', () => {
  const again = take(150_000, busy);
  assert.deepEqual(again, sample);
  const other = take(2000, { ...busy, seed: 8 });
  assert.notDeepEqual(other, sample.slice(0, 2000));
});

test('entries come in time order, and each rank strictly increases', () => {
  const lastByStream = new Map<string, bigint>();
  for (let i = 1; i < sample.length; i++) assert.ok(sample[i]!.timestampNs >= sample[i - 1]!.timestampNs, `entry ${i} goes back in time`);
  for (const entry of sample) {
    const key = `${entry.host}/${entry.rank}`;
    const previous = lastByStream.get(key);
    if (previous !== undefined) assert.ok(entry.timestampNs > previous, `${key} repeats a timestamp`);
    lastByStream.set(key, entry.timestampNs);
  }
});

test('at least 8 ranks over 2 hosts, each rank on one host, plus one launcher per host', () => {
  const ranks = new Map<number, string>();
  for (const entry of sample) {
    if (entry.rank === null) continue;
    const host = ranks.get(entry.rank);
    assert.ok(host === undefined || host === entry.host, `rank ${entry.rank} moved hosts`);
    ranks.set(entry.rank, entry.host);
  }
  assert.equal(ranks.size, 8);
  assert.deepEqual(new Set(ranks.values()), new Set(['node-0', 'node-1']));
  assert.ok(sample.some((entry) => entry.rank === null && entry.host === 'node-1'));
  assert.deepEqual(syntheticLabels({ host: 'node-1', rank: 5 }), { job: 'train', host: 'node-1', rank: '5' });
});

test('the sample holds every kind of line a training run prints', () => {
  const kinds: Record<string, RegExp> = {
    'python logging with [rankN]: prefix': /^\[rank\d+\]:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - INFO - /,
    'step line': /step \d+\/\d+ \| loss \d+\.\d{4} \| lr \d\.\d\de-\d\d \| grad_norm [\d.]+ \| tokens\/s \d+/,
    'tqdm bar': /Training: +\d+%\|.{10}\| \d+\/\d+ \[[\d:]+<[\d:]+, +[\d.]+it\/s, loss=[\d.]+, grad_norm=[\d.]+\]/,
    'HF-Trainer dict': /^\{'loss': [\d.]+, 'grad_norm': [\d.]+, 'learning_rate': [\d.e-]+, 'epoch': [\d.]+\}$/,
    'HF eval dict': /^\{'eval_loss': /,
    'throughput/MFU': /throughput [\d.]+ tokens\/s\/gpu \| MFU [\d.]+%/,
    'NCCL INFO': /NCCL INFO /,
    'NCCL WARN': /NCCL WARN /,
    'warning': / - WARNING - /,
    'error line': / - ERROR - /,
    'CUDA OOM traceback': /Traceback \(most recent call last\):\n[\s\S]*torch\.OutOfMemoryError: CUDA out of memory/,
    'NCCL watchdog timeout': /Watchdog caught collective operation timeout: WorkNCCL\(SeqNum=\d+, OpType=ALLREDUCE/,
    'handled traceback': /Traceback \(most recent call last\):\n[\s\S]*ConnectionResetError/,
    'torchrun restart': /Worker group FAILED\. \d+\/\d+ attempts left/,
    'checkpoint with a unique digest': /sha256=[0-9a-f]{16}/,
  };
  const missing = Object.entries(kinds).filter(([, pattern]) => !hasLine(pattern)).map(([name]) => name);
  assert.deepEqual(missing, []);
  const json = sample.filter((entry) => entry.line.startsWith('{"'));
  assert.ok(json.length > 100);
  for (const entry of json) assert.equal(typeof JSON.parse(entry.line).loss, 'number');
});

test('a final failure ends the run with torchrun ChildFailedError naming the rank', () => {
  const entries = [...generateTrainingLog({ seed: 3, incidentEverySteps: 0, finalFailure: { rank: 5, atStep: 40, kind: 'oom' } })];
  const last = entries.at(-1)!;
  assert.equal(last.rank, null);
  assert.equal(last.host, 'node-1');
  assert.match(last.line, /ChildFailedError[\s\S]*rank {6}: 5 \(local_rank: 1\)/);
  assert.ok(entries.some((entry) => entry.rank === 5 && entry.line.includes('CUDA out of memory')));
  assert.ok(!entries.some((entry) => entry.line.includes('step 40/')));
});

test('writeSyntheticLogs writes per-rank files of the asked size with unique tokens occurring once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rankscope-synthetic-'));
  try {
    const targetBytes = 3_000_000;
    const result = await writeSyntheticLogs({ ...busy, dir, targetBytes, layout: 'per-rank' });
    let total = 0;
    for (const file of result.files) total += (await stat(file)).size;
    assert.equal(total, result.bytes);
    assert.ok(result.bytes >= targetBytes && result.bytes < targetBytes + 100_000, `wrote ${result.bytes} bytes`);
    assert.ok(result.files.map((file) => basename(file)).includes('node-1-rank-7.log'));
    assert.ok(result.uniqueTokens.length >= 8);
    const text = (await Promise.all(result.files.map((file) => readFile(file, 'utf8')))).join('');
    for (const token of result.uniqueTokens.slice(0, 20)) assert.equal(text.split(token).length - 1, 1, token);
    assert.ok(result.lastTimestampNs > result.firstTimestampNs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
