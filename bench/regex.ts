// Regex engines over training-log lines: what src/regex runs (V8 translation, or Pike VM + lazy DFA)
// against references timed in the same run: V8's own RegExp on the same pattern where JS reads it
// the same way (the speed we would have with no safety), and String.includes of a literal (the
// linear floor). Also the hostile set on one 100k-character line.
//   node_modules/.bin/node bench/regex.ts [--lines 20000]
// Figures and the decision they support: bench/README.md ("Regex engines") and src/regex/compile.ts.

import { parseArgs } from 'node:util';
import { compileRegex } from '../src/regex/index.ts';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '20000' } } });
const lineCount = Number(values.lines);

function makeLines(count: number): string[] {
  const lines: string[] = [];
  let seed = 42;
  const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < count; i++) {
    const rank = next() % 32;
    const step = i * 10;
    switch (next() % 4) {
      case 0:
        lines.push(`[rank${rank}] step ${step} loss=${(2 + (next() % 1000) / 1000).toFixed(4)} lr=3.0e-4 grad_norm=${(next() % 100) / 10} tokens/s=${next() % 90000}`);
        break;
      case 1:
        lines.push(`2024-05-01T12:${String(next() % 60).padStart(2, '0')}:00.123Z INFO rank=${rank} NCCL INFO Channel ${next() % 16}/32 : ${rank} -> ${(rank + 1) % 32} via P2P/IPC`);
        break;
      case 2:
        lines.push(`W0501 12:00:00.${next() % 1000} ${next() % 99999} torch/distributed/elastic/multiprocessing/api.py:${next() % 900}] Sending process ${next() % 99999} closing signal SIGTERM`);
        break;
      default:
        lines.push(`{"level":"info","rank":${rank},"msg":"checkpoint saved","path":"/ckpt/step_${step}/model_${next().toString(16)}.pt","bytes":${next()}}`);
    }
  }
  return lines;
}

/** Best of five: the first runs of a script pay for JIT tiering, and the machine is shared. */
function bestOfFiveMs(run: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    run();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

const lines = makeLines(lineCount);
const totalMb = lines.reduce((sum, line) => sum + line.length, 0) / 1e6;

// pattern, whether a plain JS RegExp reads it the same way (reference), a literal it must contain
const TYPICAL: Array<[string, boolean, string]> = [
  ['loss=(\\d+\\.\\d+)', true, 'loss='],
  ['NCCL (INFO|WARN) Channel \\d+', true, 'NCCL'],
  ['(?i)sigterm', false, 'SIGTERM'],
  ['rank=(1|3|5|7)\\b', true, 'rank='],
  ['"path":"([^"]*)"', true, '"path"'],
  ['step_[0-9a-f]{1,8}/model_[0-9a-f]{8}', true, 'model_'], // {8} > V8's linear limit: Pike VM + DFA
  ['(\\w+=\\S+\\s?)+$', true, '='], // a capture inside a loop: Pike VM + DFA
  ['\\p{Lu}{4,}', false, 'INFO'],
];

console.log(`${lineCount} lines, ${totalMb.toFixed(1)} MB`);
console.log('pattern'.padEnd(44), 'engine', 'test MB/s', 'exec MB/s', 'V8 RegExp MB/s', 'includes MB/s');
for (const [pattern, jsSame, literal] of TYPICAL) {
  const compiled = compileRegex(pattern);
  const testMs = bestOfFiveMs(() => {
    for (const line of lines) compiled.regexp.test(line);
  });
  const execMs = bestOfFiveMs(() => {
    for (const line of lines) compiled.regexp.exec(line);
  });
  const native = jsSame ? new RegExp(pattern) : undefined;
  const nativeMs = native === undefined ? NaN : bestOfFiveMs(() => {
    for (const line of lines) native.test(line);
  });
  const includesMs = bestOfFiveMs(() => {
    for (const line of lines) line.includes(literal);
  });
  const rate = (ms: number): string => (Number.isNaN(ms) ? '-' : (totalMb / (ms / 1000)).toFixed(0));
  console.log(pattern.padEnd(44), compiled.engine.padEnd(6), rate(testMs).padStart(9), rate(execMs).padStart(9), rate(nativeMs).padStart(14), rate(includesMs).padStart(13));
}

const HOSTILE = ['(?i)(.|.)*Z', '(a*)*b', '(a|a)*b', '(x+x+)+y', '(?i)((a+)+)+b', '.{1000}Z', '[a-z]{1000}Z', '(?i)(.*a){20}Z'];
const longLine = 'a'.repeat(50_000) + 'x'.repeat(50_000);
const scanMs = bestOfFiveMs(() => void longLine.includes('Z'));
console.log(`\nhostile, one 100k-character line (String.includes reference: ${scanMs.toFixed(2)} ms)`);
for (const pattern of HOSTILE) {
  for (const mode of ['search', 'matcher'] as const) {
    const compiled = compileRegex(pattern, mode);
    const ms = bestOfFiveMs(() => void compiled.regexp.test(longLine));
    const execMs = bestOfFiveMs(() => void compiled.regexp.exec(longLine));
    console.log(`${pattern.padEnd(18)} ${mode.padEnd(8)} ${compiled.engine.padEnd(5)} test ${ms.toFixed(1).padStart(7)} ms  exec ${execMs.toFixed(1).padStart(7)} ms`);
  }
}
