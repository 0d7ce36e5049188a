// The ingest fast path (line templates with token plans, `[rankN]:` lines read in place, numbers
// parsed without strings) must keep exactly what the plain path keeps: for every line the extractors
// (metric-extractors.ts) and the signature table (failure-signatures.ts) applied to the line without
// its prefix. Each shape is fed many times with changing numbers, so templates get confirmed and
// later lines take the plan.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RawLineEntry } from '../../src/push/raw-line-entry.ts';
import { matchSignatures, mayMatchSignature } from '../../src/training/failure-signatures.ts';
import { LineTemplates } from '../../src/training/line-templates.ts';
import { decimalValue } from '../../src/training/line-tokens.ts';
import { extractMetrics } from '../../src/training/metric-extractors.ts';
import { splitLinePrefix } from '../../src/training/run-identity.ts';
import { RunState } from '../../src/training/run-state.ts';
import { RunSeries } from '../../src/training/series-store.ts';
import { decodeSnappyPushRequestFast } from '../../src/push/protobuf-decode.ts';
import { encodePushRequest } from '../../src/push/protobuf.ts';
import { rawColumnsOf, type RawStreamColumns } from '../../src/push/raw-push-stream.ts';

/** Line shapes, each a function of the line's index (numbers change, the shape does not). */
const SHAPES: Array<{ name: string; line: (i: number) => string }> = [
  { name: 'tqdm', line: (i) => `Training:  ${i % 100}%|████▏     | ${i}/1000 [01:10<01:37, 5.97it/s, loss=${(2.5 - i / 1000).toFixed(4)}, lr=1e-4]` },
  { name: 'tqdm redraws', line: (i) => `Training: ${i}/9 [00:01<00:02, loss=2.1]\rTraining:  50%|█████     | ${i}/10 [00:02<00:02, 2.1it/s, loss=${(1 + i / 7).toFixed(3)}]` },
  { name: 'HF trainer dict', line: (i) => `{'loss': ${(0.9 - i / 1e4).toFixed(4)}, 'grad_norm': ${(1.2 + i / 100).toFixed(3)}, 'learning_rate': ${(5e-5 * (1 - i / 1e3)).toExponential(2)}, 'epoch': ${(i / 50).toFixed(2)}}` },
  { name: 'HF eval dict', line: (i) => `{'eval_loss': ${(0.7 + i / 1e3).toFixed(5)}, 'eval_runtime': 12.3${i}, 'eval_samples_per_second': 81.${i}, 'epoch': ${i}.0}` },
  { name: 'HF nan', line: (i) => `{'loss': ${i % 3 === 0 ? 'nan' : '0.5'}, 'grad_norm': inf, 'learning_rate': 1e-05, 'epoch': 0.${i}}` },
  { name: 'HF end of training', line: (i) => `{'train_runtime': ${100 + i}.5, 'train_samples_per_second': 12.${i}, 'train_loss': 0.43, 'epoch': 3.0}` },
  { name: 'Lightning bar', line: (i) => `Epoch ${i % 3}: 22%|██▏       | ${i}/18 [00:17<01:02, 0.26it/s, loss=10.0${i % 10}, v_num=0]` },
  { name: 'mnist', line: (i) => `Train Epoch: 1 [${i * 640}/60000 (${i}%)]\tLoss: ${(0.3 - i / 1e4).toFixed(6)}` },
  { name: 'imagenet', line: (i) => `Epoch: [3][ ${i}/5005]\tTime  0.512 ( 0.530)\tData  0.001 ( 0.002)\tLoss 2.${3411 + i}e+00 (2.4102e+00)\tAcc@1  45.31 ( 42.10)\tAcc@5  70.00 ( 71.00)` },
  { name: 'DeepSpeed step', line: (i) => `[Rank 0] step=${i * 10}, skipped=${i % 3}, lr=[0.0001, 0.0001], mom=[(0.9, 0.999)]` },
  { name: 'DeepSpeed timer', line: (i) => `[timer.py:260:stop] epoch=0/micro_step=${i}/global_step=${i}, RunningAvgSamplesPerSec=245.${i}, CurrSamplesPerSec=250.1, MemAllocated=5.2GB, MaxMemAllocated=12.3GB` },
  { name: 'DeepSpeed overflow', line: (i) => `[deepspeed] OVERFLOW! Rank 0 Skipping step. Attempted loss scale: ${2 ** (16 - (i % 8))}, reducing to ${2 ** (15 - (i % 8))}` },
  {
    name: 'Megatron',
    line: (i) =>
      ` iteration      ${i}/  500000 | consumed samples: ${i * 256} | elapsed time per iteration (ms): 1234.${i} | learning rate: 1.000E-04 | global batch size:   256 | lm loss: 2.${504220 + i}E+00 | loss scale: 1.0 | grad norm: 1.234 | number of skipped iterations:   0 | number of nan iterations:   0 |`,
  },
  { name: 'torchtitan', line: (i) => `step: ${i}  loss:  9.${6421 + i}  memory: 30.12GiB(38.06%)  tps: 7,${String(i).padStart(3, '0')}  tflops: 325.47  mfu: 41.19%` },
  // Word runs (`T09`, `mlx5_2`): tokenize() hashes none of their text, so lines differing there are one template.
  { name: 'ISO time in JSON', line: (i) => `{"ts": "2026-01-05T${String(8 + (i % 3)).padStart(2, '0')}:02:${10 + i}.666Z", "rank": 1, "step": ${7410 + i}, "loss": 2.${5755 + i}}` },
  { name: 'word run before a fraction', line: (i) => `model${i % 2 === 0 ? '7' : '7b'}.5.5 step ${i} loss 0.${i}` },
  { name: 'word run ending in e before a fraction', line: (i) => `model${i % 2 === 0 ? '7' : '7e'}.5.5 step ${i} loss 0.${i}` },
  // A '.' and digits after a word once sent the tokenizer into an endless loop.
  { name: 'dotted module names', line: (i) => `Loading model.${i}.weight from layers.${i % 3}.attn (step ${i}, loss=0.${i})` },
  { name: 'word runs of any length', line: (i) => `dev mlx${i}_${'x'.repeat(i % 4)} step=${i} loss=1.${i}` },
  { name: 'JSON line', line: (i) => `{"step": ${i}, "loss": ${(2 - i / 1e3).toFixed(3)}, "lr": 0.0003, "tokens_per_second": 12${i}.5}` },
  { name: 'generic', line: (i) => `step ${i}/500000 | loss ${(2.35 - i / 1e4).toFixed(4)} | lr 3.0e-04 | tokens/s 12,${String(100 + i)} | mfu 41.${i}%` },
  { name: 'ambiguous values', line: (i) => `step ${i} loss ${i}.0 acc ${i}` },
  { name: 'long digits', line: (i) => `step ${i} loss=0.1234567890123456${i % 10} lr=1.5e-30 big=12345678901234567890` },
  // The first lines of this shape are finite: the template's gate alone would miss `loss = nan` later.
  { name: 'nan after finite lines', line: (i) => `iter ${i}: loss = ${i > 4 && i % 2 === 0 ? 'nan' : '0.5'}, skipping batch` },
  { name: 'nan loss words', line: (i) => `step ${i} loss ${i % 2 === 0 ? 'nan' : '-inf'} lr 0.001` },
  { name: 'traceback entry', line: (i) => `Traceback (most recent call last):\n  File "train.py", line ${i}, in <module>\n    loss.backward()\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate ${i}.00 MiB. GPU 0 has a total capacity of 79.15 GiB` },
  { name: 'caught exception line', line: (i) => `ValueError: batch ${i} has 0 samples` },
  { name: 'NCCL error', line: (i) => `torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/NCCLUtils.hpp:${i}, unhandled system error (run with NCCL_DEBUG=INFO for details), NCCL version 2.20.5` },
  {
    name: 'NCCL watchdog',
    line: (i) => `[E ProcessGroupNCCL.cpp:${i}] [Rank 3] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=${i}, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) ran for 600012 milliseconds before timing out.`,
  },
  { name: 'NCCL INFO with pid', line: (i) => `node-0:${4000 + i}:${4100 + i} [3] NCCL INFO Bootstrap : Using eth0:10.0.0.${i % 250}<0>` },
  { name: 'connection closed', line: (i) => `[E socket.cpp:${i}] Connection closed by remote peer node-${i % 4}<${40000 + i}>` },
  { name: 'CUDA OOM', line: (i) => `RuntimeError: CUDA out of memory. Tried to allocate ${i}.00 MiB (GPU 3; 79.15 GiB total capacity; 77.${i} GiB already allocated)` },
  { name: 'warning noise', line: (i) => `UserWarning: The epoch parameter in scheduler.step() was not necessary (seen ${i} times)` },
  { name: 'plain prose', line: (i) => `Saving checkpoint to /ckpt/step-${i}` },
  { name: 'finished', line: (i) => `Training completed. Do not forget to share your model on huggingface.co/models =) ${i}` },
];

const PREFIXES = ['', '[rank3]: ', '[rank3]:', '[rank3]:[W reducer.cpp:1360] '];

/** What the plain path keeps for one rank: extractors and signatures on each line without its prefix. */
function expected(lines: Array<{ timeNs: bigint; line: string }>): { series: RunSeries; hits: string[]; finishes: string[] } {
  const series = new RunSeries();
  const hits: string[] = [];
  const finishes: string[] = [];
  for (const { timeNs, line: raw } of lines) {
    const line = splitLinePrefix(raw)?.rest ?? raw;
    const metrics = extractMetrics(line);
    for (const [name, value] of metrics?.values ?? []) {
      series.add(name, 3, metrics!.step, Number(timeNs), value);
      if ((name === 'loss' || name === 'eval_loss') && !Number.isFinite(value)) hits.push(`non-finite-loss-value ${JSON.stringify({ value: String(value), ...(metrics!.step !== undefined ? { step: String(metrics!.step) } : {}) })} ${line}`);
    }
    if (!mayMatchSignature(line)) continue;
    for (const hit of matchSignatures(line, true)) (hit.signature.role === 'finish' ? finishes : hits).push(`${hit.signature.id} ${JSON.stringify(hit.fields)} ${line}`);
  }
  return { series, hits, finishes };
}

/** Entries as the server's decoder hands them over: each line still UTF-8 bytes in one shared body. */
function rawEntries(lines: Array<{ timeNs: bigint; line: string }>): RawLineEntry[] {
  const body = Buffer.from(lines.map(({ line }) => line).join(''), 'utf8');
  let start = 0;
  return lines.map(({ timeNs, line }) => {
    const end = start + Buffer.byteLength(line);
    const entry = new RawLineEntry(timeNs, body, start, end);
    start = end;
    return entry;
  });
}

/** The push decoded as the server decodes it: columns over the request body (no entry objects). */
function pushColumns(lines: Array<{ timeNs: bigint; line: string }>): RawStreamColumns {
  const body = encodePushRequest([{ labels: { job: 't' }, entries: lines.map(({ timeNs, line }) => ({ timestampNs: timeNs, line })) }]);
  return rawColumnsOf(decodeSnappyPushRequestFast(body, undefined, true)[0]!)!;
}

/** The shapes in a different order each round (seeded): a line's template is then mostly not the one that followed the line before. */
function shuffledShapes(round: number): typeof SHAPES {
  let seed = round * 2654435761;
  return SHAPES.map((shape) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return { shape, key: seed };
  })
    .sort((a, b) => a.key - b.key)
    .map(({ shape }) => shape);
}

const CASES = PREFIXES.flatMap((prefix) => [[prefix, 'strings', 'in turn'] as const, [prefix, 'bytes', 'in turn'] as const, [prefix, 'columns', 'in turn'] as const, [prefix, 'columns', 'shuffled'] as const]);

for (const [prefix, entryKind, order] of CASES) {
  test(`the fast path keeps what the extractors and signatures give, line prefix ${JSON.stringify(prefix)}, lines as ${entryKind}, shapes ${order} (table)`, () => {
    const run = new RunState('t', 'run');
    const lines: Array<{ timeNs: bigint; line: string }> = [];
    for (let i = 1; i <= 24; i++) {
      for (const shape of order === 'shuffled' ? shuffledShapes(i) : SHAPES) lines.push({ timeNs: BigInt(1_700_000_000_000 + lines.length) * 1_000_000n, line: prefix + shape.line(i) });
    }
    // One push per 50 lines, the rank from the label when the line carries no prefix.
    const labels: Record<string, string> = prefix === '' ? { job: 't', rank: '3' } : { job: 't' };
    for (let start = 0; start < lines.length; start += 50) {
      const push = lines.slice(start, start + 50);
      if (entryKind === 'columns') run.addEntries(labels, [], 0, pushColumns(push));
      else run.addEntries(labels, entryKind === 'bytes' ? rawEntries(push) : push.map(({ timeNs, line }) => ({ timestampNs: timeNs, line })), 0);
    }
    const want = expected(lines);
    assert.deepEqual(run.series.names(), want.series.names());
    for (const name of want.series.names()) {
      const got = run.series.get(name, 3);
      const wanted = want.series.get(name, 3)!;
      assert.equal(got?.axis, wanted.axis, `${name}: axis`);
      assert.deepEqual(got.points(1e6), wanted.points(1e6), `${name}: points`);
    }
    assert.deepEqual(run.hits.map((hit) => `${hit.signature.id} ${JSON.stringify(hit.fields)} ${hit.line}`), want.hits);
    assert.deepEqual(run.finishes.map((hit) => `${hit.signature.id} ${JSON.stringify(hit.fields)} ${hit.line}`), want.finishes);
    assert.equal(run.ranks.get(3)?.lastLine, splitLinePrefix(lines.at(-1)!.line)?.rest ?? lines.at(-1)!.line);
    assert.equal(run.ranks.get(3)?.lines, lines.length);
    if (!prefix.includes('[W')) assert.equal(run.pids.get('node-0:4024'), 3, 'the NCCL prefix maps the pid to the rank');
  });
}

test('template scan past a prefix reads what the extractors read on the rest', () => {
  const templates = new LineTemplates();
  for (let i = 1; i <= 12; i++) {
    for (const shape of SHAPES) {
      const rest = shape.line(i);
      const raw = `[rank12]: ${rest}`;
      const mayMatch = templates.scan(raw, 10);
      const got = templates.plan === undefined ? templates.metrics : { step: templates.plan.stepToken === -1 ? undefined : templates.planStep, values: templates.plan.names.map((name, k): [string, number] => [name, templates.planValues[k]!]) };
      assert.deepEqual(got, extractMetrics(rest), `${shape.name} #${i}`);
      // The gate may let more through (matching decides), never less.
      if (mayMatchSignature(rest)) assert.equal(mayMatch, true, `${shape.name} #${i}: signature gate`);
    }
  }
});

test('number tokens parse to exactly what Number() gives, or defer to it', () => {
  const cases = ['0', '-0', '7,034', '1,234,567.25', '.5', '-.5', '+3', '2.3411e+00', '2.504220E+00', '1e-4', '5e-05', '41.19', '123456789012345', '1234567890123456', '0.1234567890123456', '1e23', '1.5e-30'];
  for (let k = 0; k < 2000; k++) cases.push((Math.random() * 10 ** ((k % 24) - 12)).toPrecision(1 + (k % 15)));
  for (const text of cases) {
    const fast = decimalValue(text, 0, text.length);
    if (!Number.isNaN(fast)) assert.ok(Object.is(fast, Number(text.replace(/,/g, ''))), `${text}: ${fast}`);
  }
  assert.ok(Number.isNaN(decimalValue('1234567890123456', 0, 16)), 'past 15 digits the text is parsed');
});

/** A LineTemplates that has confirmed the template of `line(i)` from string lines, and the bytes of a later line. */
function confirmed(line: (i: number) => string, later: string): { templates: LineTemplates; bytes: Buffer; from: number } {
  const templates = new LineTemplates();
  for (let i = 1; i <= 3; i++) templates.scan(line(i), 0);
  const bytes = Buffer.from(`[rank1]: ${later}`, 'utf8');
  return { templates, bytes, from: 9 };
}

test('lines in bytes that differ from their template only in a word run take the bytes path, reading the same values (table)', () => {
  const iso = (hour: string, i: number) => `{"ts": "2026-01-05T${hour}:02:${10 + i}.666Z", "rank": 1, "step": ${7410 + i}, "loss": 2.${5755 + i}}`;
  const cases: Array<{ name: string; line: (i: number) => string; later: string; bytesPath: boolean; step?: number; values?: number[] }> = [
    { name: 'same hour', line: (i) => iso('08', i), later: iso('08', 9), bytesPath: true, step: 7419, values: [2.5764] },
    { name: 'next hour (`T09` for `T08`)', line: (i) => iso('08', i), later: iso('09', 9), bytesPath: true, step: 7419, values: [2.5764] },
    { name: 'longer run', line: (i) => `dev mlx5_0 step=${i} loss=1.${i}`, later: 'dev mlx12_a0 step=7 loss=1.5', bytesPath: true, step: 7, values: [1.5] },
    { name: 'run ending in a letter before `.5`', line: (i) => `model7.5 step ${i} loss 0.${i}`, later: 'model7b.5 step 4 loss 0.4', bytesPath: true, step: 4, values: [0.4] },
    { name: 'run ending in `e` before `.5`: another template', line: (i) => `model7.5 step ${i} loss 0.${i}`, later: 'model7e.5 step 4 loss 0.4', bytesPath: false },
    { name: 'other text', line: (i) => iso('08', i), later: iso('08', 9).replace('rank', 'Rank'), bytesPath: false },
  ];
  for (const { name, line, later, bytesPath, step, values } of cases) {
    const { templates, bytes, from } = confirmed(line, later);
    assert.equal(templates.scanBytes(bytes, from, bytes.length), bytesPath, name);
    if (!bytesPath) continue;
    templates.readPlanValuesBytes(bytes);
    const reading = new LineTemplates().read(later);
    assert.equal(reading.metrics?.step, step, `${name}: step as the extractors read it`);
    assert.equal(templates.planStep, step, `${name}: step`);
    assert.deepEqual([...templates.planValues.subarray(0, values!.length)], values, `${name}: values`);
    assert.deepEqual(reading.metrics?.values.map(([, value]) => value), values, `${name}: values as the extractors read them`);
  }
});

test('a line in bytes whose template did not follow the line before is found by how it starts', () => {
  const templates = new LineTemplates();
  const shapes = [(i: number) => `{"step": ${i}, "loss": 0.${i}}`, (i: number) => `step ${i} | loss 1.${i}`, (i: number) => `Epoch ${i}: loss=2.${i}`];
  for (let i = 1; i <= 4; i++) for (const shape of shapes) templates.scan(shape(i), 0);
  // In turn the prediction finds each; out of turn (the JSON line after the JSON line) only the index of line starts does.
  templates.scan(shapes[0]!(5), 0);
  const bytes = Buffer.from(shapes[0]!(6));
  assert.equal(templates.scanBytes(bytes, 0, bytes.length), true);
  templates.readPlanValuesBytes(bytes);
  assert.equal(templates.planStep, 6);
  assert.equal(templates.planValues[0], 0.6);
});

test('values of thinned series are skipped unread in bytes and kept where the plain path keeps them', () => {
  // Past MAX_POINTS_PER_SERIES points a series keeps one point in 2, 4, …: a line read in bytes then
  // parses only the values a series keeps (exponents and long tokens are read either way).
  const shapes = [SHAPES.find((shape) => shape.name === 'generic')!, SHAPES.find((shape) => shape.name === 'HF trainer dict')!, SHAPES.find((shape) => shape.name === 'JSON line')!];
  const lines: Array<{ timeNs: bigint; line: string }> = [];
  for (let i = 1; i <= 12_000; i++) for (const shape of shapes) lines.push({ timeNs: BigInt(1_700_000_000_000 + lines.length) * 1_000_000n, line: `[rank3]: ${shape.line(i)}` });
  const run = new RunState('t', 'run');
  for (let start = 0; start < lines.length; start += 1000) run.addEntries({ job: 't' }, [], 0, pushColumns(lines.slice(start, start + 1000)));
  const want = expected(lines);
  assert.deepEqual(run.series.names(), want.series.names());
  for (const name of want.series.names()) {
    const got = run.series.get(name, 3)!;
    const wanted = want.series.get(name, 3)!;
    assert.ok(wanted.length < 12_000, `${name}: thinned (${wanted.length} points)`);
    assert.deepEqual(got.points(1e6), wanted.points(1e6), `${name}: points`);
  }
  assert.equal(run.ranks.get(3)?.maxStep, 12_000);
});

test('number tokens of lines in bytes end where the string tokenizer ends them: fractions, exponents, thousands (table)', () => {
  // Each case: a shape whose first lines confirm its template from strings, and a later line read in
  // bytes; its values must be those the extractors read from the string.
  const cases: Array<{ name: string; line: (i: number) => string; later: string }> = [
    { name: 'fraction', line: (i) => `step ${i} | loss 2.${i}5 | lr 0.1`, later: 'step 9 | loss 2.75 | lr 0.1' },
    { name: 'fraction at the end of the line', line: (i) => `step ${i} loss 0.${i}`, later: 'step 9 loss 0.125' },
    { name: 'fraction then exponent', line: (i) => `step ${i} | loss 1.5 | lr ${i}.5e-05`, later: 'step 9 | loss 1.5 | lr 3.25e-05' },
    { name: 'fraction then capital exponent with sign', line: (i) => `step ${i} | loss ${i}.25E+00 | lr 1`, later: 'step 9 | loss 2.504220E+00 | lr 1' },
    { name: 'thousands then fraction', line: (i) => `step ${i} | tokens/s ${i},234.5 | loss 2.5`, later: 'step 9 | tokens/s 7,034.25 | loss 2.5' },
    { name: 'a dot not followed by a digit', line: (i) => `step ${i}. loss 2.${i}`, later: 'step 9. loss 2.5' },
    { name: 'a dot then a letter', line: (i) => `step ${i}.x loss 2.${i}`, later: 'step 9.x loss 2.5' },
    { name: 'a dot then e', line: (i) => `step ${i}.e5 loss 2.${i}`, later: 'step 9.e5 loss 2.5' },
  ];
  for (const { name, line, later } of cases) {
    const { templates, bytes, from } = confirmed(line, later);
    const reading = new LineTemplates().read(later);
    const bytesPath = templates.scanBytes(bytes, from, bytes.length);
    assert.equal(bytesPath, true, `${name}: bytes path`);
    templates.readPlanValuesBytes(bytes);
    const plan = templates.plan;
    const got = plan === undefined ? undefined : { step: plan.stepToken === -1 ? undefined : templates.planStep, values: plan.names.map((key, k): [string, number] => [key, templates.planValues[k]!]) };
    assert.deepEqual(got, reading.metrics, `${name}: values`);
    assert.deepEqual(reading.metrics, extractMetrics(later), `${name}: the string path reads what the extractors read`);
  }
});
