// A LogTime set from an int64's two halves (the push columns' timestampWords) answers what the
// bigint arithmetic it replaces answers: its double, its bigint, comparisons and intervals.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HIGH_HALF, LogTime, timeNumber, wordsNs, wordsTime } from '../../src/training/log-time.ts';

/** The halves of an int64 as the push columns hold them. */
function halves(timeNs: bigint): { high: number; low: number } {
  const words = new Uint32Array(new BigInt64Array([timeNs]).buffer);
  return { high: words[HIGH_HALF]! | 0, low: words[1 - HIGH_HALF]! };
}

const TIMES = [
  0n,
  1n,
  255n,
  256n,
  4294967295n,
  4294967296n,
  1_767_600_000_000_000_000n,
  1_767_600_000_000_000_001n,
  1_767_600_000_000_000_128n,
  1_767_600_000_000_000_129n,
  1_767_600_000_000_000_255n,
  1_767_600_000_000_000_256n,
  1_767_600_045_019_930_000n,
  2n ** 63n - 1n,
  -1n,
  -(2n ** 63n),
  -1_767_600_000_000_000_000n,
];

function logTime(timeNs: bigint, from: 'words' | 'bigint'): LogTime {
  const time = new LogTime();
  if (from === 'bigint') assert.equal(time.set(timeNs), Number(timeNs));
  else {
    const { high, low } = halves(timeNs);
    time.setWords(wordsTime(high, low), high, low);
  }
  return time;
}

test('an int64 read as two halves gives Number() of its bigint, and the bigint back (table)', () => {
  for (const timeNs of TIMES) {
    const { high, low } = halves(timeNs);
    assert.equal(wordsTime(high, low), Number(timeNs), String(timeNs));
    assert.equal(timeNumber(timeNs), Number(timeNs), String(timeNs));
    assert.equal(wordsNs(high, low), timeNs, String(timeNs));
    assert.equal(logTime(timeNs, 'words').ns, timeNs, String(timeNs));
  }
});

test('log times compare and subtract as their bigints do, set from halves or bigints, also past int64 (table)', () => {
  const wide = [2n ** 63n, 2n ** 64n + 5n, 253_402_300_799_000_000_000n, -(2n ** 63n) - 1n];
  const all = [...TIMES, ...wide];
  for (const a of all) {
    for (const b of all) {
      for (const fromA of ['words', 'bigint'] as const) {
        for (const fromB of ['words', 'bigint'] as const) {
          if ((fromA === 'words' && wide.includes(a)) || (fromB === 'words' && wide.includes(b))) continue;
          const x = logTime(a, fromA);
          const y = logTime(b, fromB);
          const name = `${a} (${fromA}) vs ${b} (${fromB})`;
          assert.equal(x.compareTo(y), a > b ? 1 : a < b ? -1 : 0, name);
          assert.equal(x.msSince(y), Number(a - b) / 1e6, name);
          const copy = new LogTime();
          copy.copy(x);
          assert.equal(copy.compareTo(x), 0, name);
          assert.equal(copy.ns, a, name);
        }
      }
    }
  }
});
