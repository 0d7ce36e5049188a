// Every extractor on real-looking lines, as a table: the line, the format that must read it, the
// step, and the values under canonical names. Also: the line-template fast path gives the same
// answers as the extractors on the same lines.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXTRACTORS, extractMetrics, parseMetricNumber } from '../../src/training/metric-extractors.ts';
import { LineTemplates } from '../../src/training/line-templates.ts';

interface Case {
  format: string;
  line: string;
  step?: number;
  values: Record<string, number>;
}

const CASES: Case[] = [
  // PyTorch examples
  { format: 'pytorch-examples', line: 'Train Epoch: 1 [640/60000 (1%)]\tLoss: 0.299823', values: { loss: 0.299823, epoch: 1 } },
  { format: 'pytorch-examples', line: 'Train Epoch: 14 [59520/60000 (99%)]\tLoss: nan', values: { loss: Number.NaN, epoch: 14 } },
  { format: 'pytorch-examples', line: 'Test set: Average loss: 0.0512, Accuracy: 9839/10000 (98%)', values: { eval_loss: 0.0512, accuracy: 0.9839 } },
  {
    format: 'pytorch-examples',
    line: 'Epoch: [3][ 120/5005]\tTime  0.512 ( 0.530)\tData  0.001 ( 0.012)\tLoss 2.3411e+00 (2.4102e+00)\tAcc@1  45.31 ( 42.10)\tAcc@5  70.31 ( 68.00)',
    step: 3 * 5005 + 120,
    values: { epoch: 3 + 120 / 5005, batch_time: 0.512, data_time: 0.001, loss: 2.3411, acc1: 45.31, acc5: 70.31 },
  },
  { format: 'pytorch-examples', line: ' * Acc@1 76.130 Acc@5 92.862', values: { eval_acc1: 76.13, eval_acc5: 92.862 } },
  // HF Trainer dict reprs (Python, not JSON)
  { format: 'hf-trainer', line: "{'loss': 0.5213, 'grad_norm': 1.0423, 'learning_rate': 4.5e-05, 'epoch': 0.12}", values: { loss: 0.5213, grad_norm: 1.0423, lr: 4.5e-5, epoch: 0.12 } },
  { format: 'hf-trainer', line: "{'loss': nan, 'grad_norm': inf, 'learning_rate': 1e-05, 'epoch': 1.5}", values: { loss: Number.NaN, grad_norm: Number.POSITIVE_INFINITY, lr: 1e-5, epoch: 1.5 } },
  { format: 'hf-trainer', line: "{'loss': '0.4410', 'grad_norm': '0.9911', 'learning_rate': '2.0000e-05', 'epoch': '2.00'}", values: { loss: 0.441, grad_norm: 0.9911, lr: 2e-5, epoch: 2 } },
  {
    format: 'hf-trainer',
    line: "{'eval_loss': 0.4128, 'eval_runtime': 12.31, 'eval_samples_per_second': 81.22, 'eval_steps_per_second': 10.15, 'epoch': 1.0}",
    values: { eval_loss: 0.4128, eval_runtime: 12.31, eval_samples_per_second: 81.22, eval_steps_per_second: 10.15, epoch: 1 },
  },
  {
    format: 'hf-trainer',
    line: "{'train_runtime': 1234.5678, 'train_samples_per_second': 40.51, 'train_steps_per_second': 1.27, 'train_loss': 0.6123, 'epoch': 3.0}",
    values: { train_runtime: 1234.5678, throughput: 40.51, train_steps_per_second: 1.27, loss: 0.6123, epoch: 3 },
  },
  // JSON lines
  { format: 'json', line: '{"step": 100, "loss": 2.31, "lr": 0.0003, "grad_norm": 0.88}', step: 100, values: { loss: 2.31, lr: 3e-4, grad_norm: 0.88 } },
  { format: 'json', line: '{"ts": "2026-01-05T08:00:48Z", "event": "train", "rank": 0, "global_step": 7, "loss": NaN, "tokens_per_s": 47492}', step: 7, values: { loss: Number.NaN, throughput: 47492 } },
  // tqdm: Lightning's epoch bars (last \r state) and plain bars (count = step)
  {
    format: 'tqdm',
    line: 'Epoch 0:  11%|█         | 2/18 [00:08<01:06,  0.24it/s, loss=11.2, v_num=3]\rEpoch 0:  22%|██▏       | 4/18 [00:17<01:02,  0.22it/s, loss=10.07, v_num=3]',
    values: { epoch: 0, loss: 10.07, iterations_per_second: 0.22 },
  },
  { format: 'tqdm', line: 'Epoch 1: 100%|██████████| 18/18 [00:05<00:00,  3.21it/s, v_num=1, train_loss=0.512, val_loss=0.601]', values: { epoch: 1, iterations_per_second: 3.21, loss: 0.512, eval_loss: 0.601 } },
  { format: 'tqdm', line: ' 42%|████▏     | 420/1000 [01:10<01:37,  5.97it/s, loss=2.31, lr=1e-4]', step: 420, values: { iterations_per_second: 5.97, loss: 2.31, lr: 1e-4 } },
  // DeepSpeed
  { format: 'deepspeed', line: '[2024-06-01 10:00:00,000] [INFO] [logging.py:96:log_dist] [Rank 0] step=100, skipped=2, lr=[0.0001, 0.0001], mom=[(0.9, 0.999), (0.9, 0.999)]', step: 100, values: { lr: 1e-4, skipped_steps: 2 } },
  {
    format: 'deepspeed',
    line: '[2024-06-01 10:00:01,000] [INFO] [timer.py:260:stop] epoch=0/micro_step=400/global_step=100, RunningAvgSamplesPerSec=245.8, CurrSamplesPerSec=250.1, MemAllocated=5.2GB, MaxMemAllocated=12.3GB',
    step: 100,
    values: { throughput: 250.1, memory: 5.2 },
  },
  { format: 'deepspeed', line: '[2024-06-01 10:00:02,000] [INFO] [loss_scaler.py:183:update_scale] [deepspeed] OVERFLOW! Rank 0 Skipping step. Attempted loss scale: 65536, reducing to 32768', values: { loss_scale: 32768, overflow: 1 } },
  // Megatron
  {
    format: 'megatron',
    line: ' iteration      100/  500000 | consumed samples:        12800 | elapsed time per iteration (ms): 512.3 | learning rate: 1.500E-04 | global batch size:   128 | lm loss: 2.504220E+00 | loss scale: 65536.0 | grad norm: 1.234 | number of skipped iterations:   0 | number of nan iterations:   0 |',
    step: 100,
    values: { iteration_time_ms: 512.3, lr: 1.5e-4, loss: 2.50422, 'loss scale': 65536, grad_norm: 1.234, skipped_iterations: 0, nan_iterations: 0 },
  },
  { format: 'megatron', line: ' validation loss at iteration 1000 | lm loss value: 2.410000E+00 | lm loss PPL: 1.113E+01 |', step: 1000, values: { eval_loss: 2.41 } },
  // torchtitan (with its ANSI colours)
  {
    format: 'torchtitan',
    line: '[titan] 2024-11-27 10:00:00,000 - root - INFO - \x1b[31mstep: 10  \x1b[32mloss:  9.6421  \x1b[33mmemory: 30.12GiB(38.06%)  \x1b[34mtps: 7,034  \x1b[36mtflops: 325.47  \x1b[35mmfu: 41.19%\x1b[39m',
    step: 10,
    values: { loss: 9.6421, memory: 30.12, throughput: 7034, tflops: 325.47, mfu: 41.19 },
  },
  // Generic key=value / key: value / `step N loss x`
  { format: 'generic', line: '2024-06-01 10:00:00 INFO step=1200 loss=2.1034 lr=2.5e-4 grad_norm=0.81', step: 1200, values: { loss: 2.1034, lr: 2.5e-4, grad_norm: 0.81 } },
  { format: 'generic', line: 'step 12 loss 2.3100 lr 3.00e-04 grad_norm 1.021', step: 12, values: { loss: 2.31, lr: 3e-4, grad_norm: 1.021 } },
  { format: 'generic', line: 'iter: 350, loss: 1.98, acc: 0.71', step: 350, values: { loss: 1.98, acc: 0.71 } },
];

test('each extractor reads its formats (table)', () => {
  for (const testCase of CASES) {
    const format = EXTRACTORS.find((extractor) => extractor.gate(testCase.line) && extractor.extract(testCase.line) !== undefined)?.name;
    assert.equal(format, testCase.format, `format of ${JSON.stringify(testCase.line)}`);
    const found = extractMetrics(testCase.line);
    assert.ok(found, testCase.line);
    assert.equal(found.step, testCase.step, `step of ${JSON.stringify(testCase.line)}`);
    const values = Object.fromEntries(found.values);
    assert.deepEqual(Object.keys(values).sort(), Object.keys(testCase.values).sort(), `names of ${JSON.stringify(testCase.line)}`);
    for (const [name, value] of Object.entries(testCase.values)) {
      const got = values[name]!;
      assert.ok(Number.isNaN(value) ? Number.isNaN(got) : got === value || Math.abs(got - value) <= Math.abs(value) * 1e-9, `${name} of ${JSON.stringify(testCase.line)}: ${got} ≠ ${value}`);
    }
  }
});

test('lines that are not metrics give nothing', () => {
  for (const line of [
    '2024-06-01 10:00:00,000 - INFO - train.py:214 - Initializing process group: backend=nccl world_size=32 rank=2 local_rank=2',
    'node-0:32416:32475 [2] NCCL INFO Channel 00/02 :    0   1   2   3',
    '/usr/lib/python3/dist-packages/torch/utils/checkpoint.py:91: UserWarning: None of the inputs have requires_grad=True.',
    'Traceback (most recent call last):\n  File "train.py", line 3, in <module>\nValueError: loss=3',
    'Downloading shards: 100%',
    'Saving checkpoint to /ckpt/step_1000',
  ]) {
    assert.equal(extractMetrics(line), undefined, line);
  }
});

test('numbers as training code prints them', () => {
  const table: Array<[string, number | undefined]> = [
    ['2.5E-04', 2.5e-4],
    ['7,034', 7034],
    ['41.19%', 41.19],
    ['30.12GiB', 30.12],
    ['30.12GiB(38.06%)', 30.12],
    ["'0.52'", 0.52],
    ['nan', Number.NaN],
    ['-inf', Number.NEGATIVE_INFINITY],
    ['abc', undefined],
    ['', undefined],
  ];
  for (const [text, value] of table) {
    const got = parseMetricNumber(text);
    if (value === undefined) assert.equal(got, undefined, text);
    else if (Number.isNaN(value)) assert.ok(Number.isNaN(got), text);
    else assert.equal(got, value, text);
  }
});

test('the line-template fast path answers like the extractors, line after line', () => {
  const templates = new LineTemplates();
  const lines: string[] = [];
  for (let step = 1; step <= 50; step++) {
    const loss = step === 40 ? 'nan' : (3 - step * 0.01).toFixed(4);
    lines.push(`2024-06-01 10:00:${String(step % 60).padStart(2, '0')} INFO step=${step} loss=${loss} lr=${(step * 1e-5).toExponential(2)} grad_norm=0.81`);
    lines.push(`{'loss': ${loss}, 'grad_norm': 1.0${step}, 'learning_rate': 4.5e-05, 'epoch': ${(step / 10).toFixed(2)}}`);
    lines.push(`Epoch: [0][${String(step).padStart(4)}/5005]\tTime  0.512 ( 0.530)\tData  0.001 ( 0.012)\tLoss ${(2 + step / 100).toExponential(4)} (2.4102e+00)\tAcc@1  45.31 ( 42.10)\tAcc@5  70.31 ( 68.00)`);
    lines.push(`node-0:32416:32475 [2] NCCL INFO Channel ${step}/02 :    0   1   2   3`);
    lines.push(`step ${step} loss ${loss} lr 3.00e-04 grad_norm 1.${step}`);
  }
  for (const line of lines) {
    const fast = templates.read(line).metrics;
    const slow = extractMetrics(line);
    assert.deepEqual(JSON.stringify(fast), JSON.stringify(slow), line);
  }
});
