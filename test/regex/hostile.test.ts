// Patterns that send a backtracking engine into exponential time, on the 70-character path from the
// incident and on 100k-character lines. Each must finish within 2 s on 100k characters (an
// exponential engine never returns), and its time must grow linearly: 4× the line may take at
// most 8× the time (a quadratic engine takes 16×). Minimum of three runs against machine noise.
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

test('hostile patterns finish on 100k-character lines and grow linearly up to 400k', () => {
  for (const pattern of HOSTILE) {
    for (const mode of ['search', 'matcher'] as RegexMode[]) {
      const compiled = compileRegex(pattern, mode);
      // Half `a`, half `x`: every pattern in the set gets its run of near-misses.
      const line = (length: number): string => 'a'.repeat(length / 2) + 'x'.repeat(length / 2);
      for (const operation of ['test', 'exec'] as const) {
        const run = (text: string) => () => void compiled.regexp[operation](text);
        const short = line(100_000);
        run(short)(); // warm caches (JIT, lazy DFA states)
        const shortMs = bestOfThreeMs(run(short));
        const what = `${pattern} (${mode}, ${compiled.engine}, ${operation})`;
        assert.ok(shortMs < 2000, `${what} on 100k characters: ${shortMs.toFixed(0)} ms`);
        if (mode === 'matcher') continue;
        const long = line(400_000);
        run(long)();
        const longMs = bestOfThreeMs(run(long));
        // Linear: 4× the input, ~4× the time. Quadratic would be 16×.
        assert.ok(longMs <= 8 * shortMs + 250, `${what}: ${longMs.toFixed(1)} ms on 400k vs ${shortMs.toFixed(1)} ms on 100k`);
      }
    }
  }
});
