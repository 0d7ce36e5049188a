// Patterns that send a backtracking engine into exponential time, on the 70-character path from the
// incident and on 100k-character lines. Each must finish, and its time must grow linearly with
// the input: doubling the line may at most ~double the time (a quadratic engine would quadruple
// it, an exponential one never returns). Minimum of three runs, so a busy machine can't fail it.
import assert from 'node:assert/strict';
import test from 'node:test';
import { compileRegex, type RegexMode } from '../../src/regex/index.ts';

const HOSTILE = [
  '(?i)(.|.)*Z',
  '(a*)*b',
  '(a|a)*b',
  '(x+x+)+y',
  '(?i)((a+)+)+b',
  '(?i)(\\w+\\s?)*!',
  '(?i)(.*a){20}Z',
  '(.{1000})*Z',
  '.{1000}Z',
  '[a-z]{1000}Z',
  '(?:(?:a{10}){10}){10}b',
  '(?m)(a|a)*b$',
  '\\pL*Z',
  '(?P<x>(a|aa)+)c',
];

const PATH = '/var/log/pods/training-job-worker-3_default_abcdef/trainer/0.log.20240101';

function bestOfThreeMs(run: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    run();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

test('hostile patterns answer the incident path at once', () => {
  for (const pattern of HOSTILE) {
    for (const mode of ['search', 'matcher'] as RegexMode[]) {
      const compiled = compileRegex(pattern, mode);
      assert.equal(typeof compiled.regexp.test(PATH), 'boolean');
      compiled.regexp.exec(PATH);
    }
  }
});

test('hostile patterns take linear time on 50k and 100k-character lines', () => {
  for (const pattern of HOSTILE) {
    for (const mode of ['search', 'matcher'] as RegexMode[]) {
      for (const filler of ['a', 'x']) {
        const compiled = compileRegex(pattern, mode);
        const half = filler.repeat(50_000);
        const full = filler.repeat(100_000);
        for (const operation of ['test', 'exec'] as const) {
          const run = (text: string) => () => void compiled.regexp[operation](text);
          run(half)();
          run(full)(); // warm caches (JIT, lazy DFA states) for both sizes
          const halfMs = bestOfThreeMs(run(half));
          const fullMs = bestOfThreeMs(run(full));
          const what = `${pattern} (${mode}, ${compiled.engine}, ${operation}) on ${filler}×100k: ${fullMs.toFixed(1)} ms vs ${halfMs.toFixed(1)} ms for half`;
          assert.ok(fullMs <= 3 * halfMs + 50, `${what}: grows faster than linear`);
          assert.ok(fullMs < 2000, `${what}: too slow`);
        }
      }
    }
  }
});
