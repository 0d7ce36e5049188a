// Numbers from raw training stdout, with no change to the training script: one extractor per format
// (PyTorch examples, HF Trainer dicts, Lightning bars, DeepSpeed, Megatron, torchtitan, JSON lines),
// tried in order, then a generic `key=value` / `key: value` fallback. Each returns the step when the
// line has one and the values under canonical names (loss, eval_loss, lr, grad_norm, throughput,
// mfu, memory, epoch); other numeric keys keep their own (lower-cased) name. Pure and cheap: a line
// with no digit, or none of the formats' marker characters, costs one scan.

export interface ExtractedMetrics {
  step: number | undefined;
  values: Array<[string, number]>;
}

/** Key spellings of the canonical series. */
const CANONICAL_NAMES: Record<string, string> = {
  loss: 'loss',
  train_loss: 'loss',
  'train/loss': 'loss',
  'lm loss': 'loss',
  lm_loss: 'loss',
  eval_loss: 'eval_loss',
  val_loss: 'eval_loss',
  'eval/loss': 'eval_loss',
  'val/loss': 'eval_loss',
  validation_loss: 'eval_loss',
  test_loss: 'eval_loss',
  lr: 'lr',
  learning_rate: 'lr',
  'learning rate': 'lr',
  'train/learning_rate': 'lr',
  grad_norm: 'grad_norm',
  'grad norm': 'grad_norm',
  gnorm: 'grad_norm',
  'train/grad_norm': 'grad_norm',
  tps: 'throughput',
  throughput: 'throughput',
  samples_per_second: 'throughput',
  train_samples_per_second: 'throughput',
  currsamplespersec: 'throughput',
  'samples/s': 'throughput',
  tokens_per_second: 'throughput',
  tokens_per_s: 'throughput',
  tokens_per_sec: 'throughput',
  samples_per_sec: 'throughput',
  'tokens/s': 'throughput',
  mfu: 'mfu',
  memory: 'memory',
  mem: 'memory',
  memallocated: 'memory',
  epoch: 'epoch',
};

const STEP_KEYS = new Set(['step', 'global_step', 'iteration', 'iter', 'steps', 'train/global_step']);
/** Keys that are never a series: identifiers and counters of the run itself. */
const IGNORED_KEYS = new Set(['rank', 'local_rank', 'world_size', 'v_num', 'pid', 'port', 'seed', 'node_rank', 'gpu', 'device', 'version', 'nproc_per_node', 'attempt', 'exitcode', 'exit_code']);

function canonicalName(key: string): string {
  const lower = key.toLowerCase();
  return CANONICAL_NAMES[lower] ?? lower;
}

/** A numeric value as training code prints it: 1,234.5 / 2.5E-04 / 41.19% / 30.12GiB / nan / inf. */
export function parseMetricNumber(text: string): number | undefined {
  let value = text.trim();
  if (value.startsWith("'") || value.startsWith('"')) value = value.slice(1, -1);
  const lower = value.toLowerCase();
  if (lower === 'nan' || lower === '-nan') return Number.NaN;
  if (lower === 'inf' || lower === 'infinity' || lower === '+inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY;
  const match = /^([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(%|[KMGT]i?B|[KMGT]B?|GB)?(?:\([^)]*\))?$/.exec(value);
  if (match === null || match[1] === '' || match[1] === '-' || match[1] === '+') return undefined;
  const number = Number(match[1]!.replace(/,/g, ''));
  return Number.isNaN(number) ? undefined : number;
}

function push(out: ExtractedMetrics, key: string, raw: string): void {
  const lower = key.toLowerCase();
  if (STEP_KEYS.has(lower)) {
    const step = parseMetricNumber(raw);
    if (step !== undefined && Number.isFinite(step)) out.step = step;
    return;
  }
  if (IGNORED_KEYS.has(lower)) return;
  const value = parseMetricNumber(raw);
  if (value !== undefined) out.values.push([canonicalName(key), value]);
}

function result(out: ExtractedMetrics): ExtractedMetrics | undefined {
  return out.values.length > 0 ? out : undefined;
}

const ANSI = /\x1b\[[0-9;]*m/g;

// --- PyTorch examples -----------------------------------------------------------------------------
// mnist: `Train Epoch: 1 [640/60000 (1%)]\tLoss: 0.299823`; `Test set: Average loss: 0.0512, Accuracy: 9839/10000 (98%)`
const MNIST_TRAIN = /Train Epoch: (\d+) \[(\d+)\/(\d+) \(\d+%\)\]\s+Loss: ([-+\d.eE]+|nan|inf)/;
const MNIST_TEST = /Test set: Average loss: ([-+\d.eE]+|nan|inf), Accuracy: (\d+)\/(\d+)/;
// imagenet: `Epoch: [3][ 120/5005]\tTime  0.512 ( 0.530)\tData … \tLoss 2.3411e+00 (2.4102e+00)\tAcc@1  45.31 ( 42.10)\tAcc@5 …`
const IMAGENET = /^Epoch: \[(\d+)\]\[\s*(\d+)\/\s*(\d+)\]/;
const IMAGENET_FIELD = /(Loss|Acc@1|Acc@5|Time|Data)\s+([-+\d.eE]+|nan|inf)\s/g;
const IMAGENET_SUMMARY = /^\s*\* Acc@1 ([\d.]+) Acc@5 ([\d.]+)/;

function pytorchExamples(line: string): ExtractedMetrics | undefined {
  let match = MNIST_TRAIN.exec(line);
  if (match !== null) {
    return { step: undefined, values: [['loss', parseMetricNumber(match[4]!)!], ['epoch', Number(match[1])]] };
  }
  match = MNIST_TEST.exec(line);
  if (match !== null) {
    return { step: undefined, values: [['eval_loss', parseMetricNumber(match[1]!)!], ['accuracy', Number(match[2]) / Number(match[3])]] };
  }
  match = IMAGENET.exec(line);
  if (match !== null) {
    const epoch = Number(match[1]);
    const batch = Number(match[2]);
    const batches = Number(match[3]);
    const out: ExtractedMetrics = { step: epoch * batches + batch, values: [['epoch', epoch + batch / batches]] };
    for (const field of line.matchAll(IMAGENET_FIELD)) {
      const name = field[1] === 'Loss' ? 'loss' : field[1] === 'Time' ? 'batch_time' : field[1] === 'Data' ? 'data_time' : field[1]!.toLowerCase().replace('@', '');
      out.values.push([name, parseMetricNumber(field[2]!)!]);
    }
    return out;
  }
  match = IMAGENET_SUMMARY.exec(line);
  if (match !== null) return { step: undefined, values: [['eval_acc1', Number(match[1])], ['eval_acc5', Number(match[2])]] };
  return undefined;
}

// --- HF Trainer: Python dict reprs `{'loss': 0.52, 'grad_norm': 1.2, 'learning_rate': 4.5e-05, 'epoch': 0.12}`
const PY_DICT_PAIR = /'([A-Za-z_][\w/.-]*)': ('[^']*'|[-+]?(?:nan|inf|[\d.]+(?:[eE][-+]?\d+)?))/g;

function pythonDict(line: string): ExtractedMetrics | undefined {
  const open = line.indexOf("{'");
  if (open === -1 || line.lastIndexOf('}') < open) return undefined;
  const out: ExtractedMetrics = { step: undefined, values: [] };
  for (const pair of line.slice(open).matchAll(PY_DICT_PAIR)) push(out, pair[1]!, pair[2]!);
  return result(out);
}

// --- JSON lines `{"step": 100, "loss": 2.3}` (flat; nested objects are skipped) ----------------------
function jsonLine(line: string): ExtractedMetrics | undefined {
  const open = line.indexOf('{"');
  if (open === -1 || !line.trimEnd().endsWith('}')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(open).replace(/\bNaN\b/g, '"nan"').replace(/-Infinity\b/g, '"-inf"').replace(/\bInfinity\b/g, '"inf"'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const out: ExtractedMetrics = { step: undefined, values: [] };
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value === 'number') push(out, key, String(value));
    else if (typeof value === 'string' && /^[-+]?(nan|inf)$/i.test(value)) push(out, key, value);
  }
  return result(out);
}

// --- tqdm bars: `Training:  42%|████▏     | 420/1000 [01:10<01:37, 5.97it/s, loss=2.31, lr=1e-4]` ---------
// Parsed by hand (no backtracking regex): a bar line can be long, and many `\r` redraws share one
// physical line, of which the last bar state is the newest. The bar's count is the step for plain
// tqdm (HF Trainer's and most custom loops' bars count optimizer steps); Lightning's `Epoch N:` bars
// count batches within the epoch, so they give the epoch and no step.
const TQDM_COUNTS = /^\s*(\d+)\/(?:\d+|\?)\s*$/;
const LIGHTNING_EPOCH = /Epoch (\d+):\s*$/;

function tqdm(line: string): ExtractedMetrics | undefined {
  const state = line.includes('\r') ? (line.split('\r').findLast((candidate) => candidate.includes('%|')) ?? '') : line;
  const bar = state.indexOf('%|');
  if (bar === -1) return undefined;
  const barEnd = state.indexOf('|', bar + 2);
  const open = barEnd === -1 ? -1 : state.indexOf('[', barEnd);
  const close = open === -1 ? -1 : state.indexOf(']', open);
  if (close === -1) return undefined;
  const counts = TQDM_COUNTS.exec(state.slice(barEnd + 1, open));
  if (counts === null) return undefined;
  const epoch = LIGHTNING_EPOCH.exec(state.slice(0, bar).replace(/\s*\d+$/, ''));
  const out: ExtractedMetrics = { step: epoch === null ? Number(counts[1]) : undefined, values: epoch === null ? [] : [['epoch', Number(epoch[1])]] };
  for (const part of state.slice(open + 1, close).split(',')) {
    const pair = part.trim();
    const equals = pair.indexOf('=');
    if (equals > 0) push(out, pair.slice(0, equals), pair.slice(equals + 1));
    else if (pair.endsWith('it/s')) out.values.push(['iterations_per_second', Number(pair.slice(0, -4))]);
  }
  return result(out);
}

// --- DeepSpeed ------------------------------------------------------------------------------------
// `[Rank 0] step=100, skipped=2, lr=[0.0001, 0.0001], mom=[(0.9, 0.999)]`
const DEEPSPEED_STEP = /\bstep=(\d+), skipped=(\d+), lr=\[([^,\]]+)/;
// `[timer.py:260:stop] epoch=0/micro_step=100/global_step=100, RunningAvgSamplesPerSec=245.8, CurrSamplesPerSec=250.1, MemAllocated=5.2GB, MaxMemAllocated=12.3GB`
const DEEPSPEED_TIMER = /global_step=(\d+), RunningAvgSamplesPerSec=([\d.eE+-]+), CurrSamplesPerSec=([\d.eE+-]+)(?:, MemAllocated=([\d.]+)GB)?/;
// `[deepspeed] OVERFLOW! Rank 0 Skipping step. Attempted loss scale: 65536, reducing to 32768`
const DEEPSPEED_OVERFLOW = /OVERFLOW! Rank (\d+) Skipping step\. Attempted loss scale: ([\d.]+), reducing to ([\d.]+)/;

function deepspeed(line: string): ExtractedMetrics | undefined {
  let match = DEEPSPEED_STEP.exec(line);
  if (match !== null) return { step: Number(match[1]), values: [['lr', parseMetricNumber(match[3]!)!], ['skipped_steps', Number(match[2])]] };
  match = DEEPSPEED_TIMER.exec(line);
  if (match !== null) {
    const values: Array<[string, number]> = [['throughput', Number(match[3])]];
    if (match[4] !== undefined) values.push(['memory', Number(match[4])]);
    return { step: Number(match[1]), values };
  }
  match = DEEPSPEED_OVERFLOW.exec(line);
  if (match !== null) return { step: undefined, values: [['loss_scale', Number(match[3])], ['overflow', 1]] };
  return undefined;
}

// --- Megatron: ` iteration      100/  500000 | consumed samples: … | lm loss: 2.504220E+00 | grad norm: 1.234 |`
const MEGATRON = /\biteration\s+(\d+)\/\s*\d+ \|/;
const MEGATRON_VALIDATION = /validation loss at iteration (\d+)[^|]*\| lm loss value: ([-+\d.eE]+|nan|inf)/;

function megatron(line: string): ExtractedMetrics | undefined {
  let match = MEGATRON_VALIDATION.exec(line);
  if (match !== null) return { step: Number(match[1]), values: [['eval_loss', parseMetricNumber(match[2]!)!]] };
  match = MEGATRON.exec(line);
  if (match === null) return undefined;
  const out: ExtractedMetrics = { step: Number(match[1]), values: [] };
  for (const field of line.slice(match.index + match[0].length).split('|')) {
    const colon = field.lastIndexOf(':');
    if (colon === -1) continue;
    const key = field.slice(0, colon).trim();
    const raw = field.slice(colon + 1).trim();
    if (key === 'elapsed time per iteration (ms)') push(out, 'iteration_time_ms', raw);
    else if (key.startsWith('throughput per GPU')) push(out, 'tflops', raw);
    else if (key === 'number of nan iterations') push(out, 'nan_iterations', raw);
    else if (key === 'number of skipped iterations') push(out, 'skipped_iterations', raw);
    else if (!key.startsWith('consumed') && !key.startsWith('global batch')) push(out, key, raw);
  }
  return result(out);
}

// --- torchtitan: `step: 10  loss:  9.6421  memory: 30.12GiB(38.06%)  tps: 7,034  tflops: 325.47  mfu: 41.19%`
const TORCHTITAN = /\bstep:\s*(\d+)\s+loss:/;
const TORCHTITAN_FIELD = /\b(loss|grad_norm|memory|tps|tflops|mfu|wps):\s*([-+\d.,eE]+|nan|inf)(%|GiB|GB)?/g;

function torchtitan(line: string): ExtractedMetrics | undefined {
  const plain = line.indexOf('\x1b') === -1 ? line : line.replace(ANSI, '');
  const match = TORCHTITAN.exec(plain);
  if (match === null) return undefined;
  const out: ExtractedMetrics = { step: Number(match[1]), values: [] };
  for (const field of plain.matchAll(TORCHTITAN_FIELD)) push(out, field[1] === 'wps' ? 'tps' : field[1]!, field[2]!);
  return result(out);
}

// --- Generic fallback: `step 12 loss 2.31 lr 3e-4`, `loss=2.31`, `loss: 2.31` ---------------------------
// Keys start only at a word start (the lookbehind), so a line costs one pass, not one per position.
const STEP_WORDS = /\b(?:global[ _]step|step|iteration|iter)[\s:=#]+(\d+)\b/i;
const KEY_VALUE = /(?<![\w/.@-])([A-Za-z][\w/.@-]{0,39})(?:\s*=\s*|: ?)([-+]?(?:nan|inf|\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?)%?)(?=$|[\s,;|})\]])/gi;
/** Plain-text `loss 2.31`: only these words, since prose has numbers too. */
const WORD_NUMBER = /(?<!\w)(loss|lr|grad_norm|eval_loss|val_loss|throughput|mfu|ppl|perplexity|accuracy|acc)\s+([-+]?(?:nan|inf|\d+\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+))\b/g;

function generic(line: string): ExtractedMetrics | undefined {
  const out: ExtractedMetrics = { step: undefined, values: [] };
  let named = 0;
  if (line.includes('=') || line.includes(':')) {
    for (const pair of line.matchAll(KEY_VALUE)) {
      const key = pair[1]!;
      const lower = key.toLowerCase();
      if (STEP_KEYS.has(lower) || CANONICAL_NAMES[lower] !== undefined) named++;
      push(out, key, pair[2]!);
    }
  }
  const stepMatch = out.step === undefined ? STEP_WORDS.exec(line) : null;
  if (stepMatch !== null) out.step = Number(stepMatch[1]);
  for (const pair of line.matchAll(WORD_NUMBER)) {
    named++;
    push(out, pair[1]!, pair[2]!);
  }
  // One stray `x=3` in prose is not a metric: ask for a known name, or several numbers together.
  if (named === 0 && out.values.length < 2) return undefined;
  return result(out);
}

type Extractor = (line: string) => ExtractedMetrics | undefined;

/** Format extractors, most specific first; the generic fallback runs when none matched. Each has a literal gate that is cheap to test. */
export const EXTRACTORS: ReadonlyArray<{ name: string; gate: (line: string) => boolean; extract: Extractor }> = [
  { name: 'hf-trainer', gate: (line) => line.includes("{'"), extract: pythonDict },
  { name: 'json', gate: (line) => line.includes('{"'), extract: jsonLine },
  { name: 'tqdm', gate: (line) => line.includes('%|'), extract: tqdm },
  { name: 'pytorch-examples', gate: (line) => line.includes('Epoch') || line.includes('Test set') || line.includes('* Acc@1'), extract: pytorchExamples },
  { name: 'deepspeed', gate: (line) => line.includes('step=') || line.includes('OVERFLOW!'), extract: deepspeed },
  { name: 'megatron', gate: (line) => line.includes('iteration'), extract: megatron },
  { name: 'torchtitan', gate: (line) => line.includes('step:') && line.includes('loss:'), extract: torchtitan },
  { name: 'generic', gate: () => true, extract: generic },
];

/** Lines longer than this are tracebacks or dumps, not metric lines (a Lightning line with many `\r` redraws is the exception). */
const MAX_METRIC_LINE_CHARS = 4096;
/** A metric line has a number right after `=`, `:` or a word (`loss 2.3`), or a non-finite value. */
const NUMBER_AFTER_KEY = /[=:]\s*['"]?[-+]?\.?\d|\w\s+[-+]?\d|\b(?:nan|NaN|inf|Infinity)\b/;

export function extractMetrics(line: string): ExtractedMetrics | undefined {
  if (line.length > MAX_METRIC_LINE_CHARS && line.indexOf('\r') === -1) return undefined;
  if (!NUMBER_AFTER_KEY.test(line)) return undefined;
  if (line.indexOf('Traceback (most recent call last)') !== -1) return undefined;
  for (const extractor of EXTRACTORS) {
    if (!extractor.gate(line)) continue;
    const found = extractor.extract(line);
    if (found !== undefined) return found;
  }
  return undefined;
}
