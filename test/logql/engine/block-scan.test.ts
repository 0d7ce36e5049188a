// The raw-byte line filters of a block scan against the per-line semantics, over random filter chains
// on random lines: later filters only search lines earlier ones kept, several needles mark a line once,
// and matches that would span two lines count for neither.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpr } from '../../../src/logql/syntax/index.ts';
import type { LogExpr } from '../../../src/logql/syntax/ast.ts';
import { compilePipeline, runWholePipeline } from '../../../src/logql/log/pipeline.ts';
import { rawFilterMask, releaseBlockColumns } from '../../../src/logql/engine/block-scan.ts';
import { seededRandom } from '../../../src/demo/torch-output.ts';
import { encodeBlock } from './memory-source.ts';

const WORDS = ['ab', 'ba', 'a', 'b', 'abc', 'c', 'é', 'x y', ''];

test('chained raw filters mark exactly the lines the per-line pipeline keeps', () => {
  const random = seededRandom(7);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  for (let round = 0; round < 300; round++) {
    const lines = Array.from({ length: 1 + Math.floor(random() * 30) }, () => Array.from({ length: Math.floor(random() * 4) }, () => pick(WORDS)).join(''));
    const block = encodeBlock({ id: 's', labels: { a: 'b' } }, lines.map((line, i) => ({ timestampNs: BigInt(i), line })));
    const filters = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
      const values = Array.from({ length: 1 + Math.floor(random() * 2) }, () => `"${pick(WORDS.filter((w) => w !== ''))}"`);
      return `${pick(['|=', '!=', '|~', '!~'])} ${values.join(' or ')}`;
    });
    const query = `{a="b"} ${filters.join(' ')}`;
    const pipeline = compilePipeline((parseExpr(query) as LogExpr).pipeline);
    const from = Math.floor(random() * lines.length);
    const to = from + 1 + Math.floor(random() * (lines.length - from));
    const mask = rawFilterMask(block, from, to, pipeline.rawFilters);
    const viaBytes: number[] = [];
    const perLine: number[] = [];
    for (let i = from; i < to; i++) {
      if ((mask === null || mask[i - from] === 1) && pipeline.linePredicates.every((p) => p(lines[i]!))) viaBytes.push(i);
      if (runWholePipeline(pipeline, { a: 'b' }, undefined, 0n, lines[i]!) !== null) perLine.push(i);
    }
    assert.deepEqual(viaBytes, perLine, `${query} on lines ${from}..${to} of ${JSON.stringify(lines)}`);
  }
});

/** Go's non-ASCII spaces, which trimming removes from the end of a logfmt key. */
const TRAILING_SPACES = '\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

test('logfmt key-end needles mark the lines where the run is followed by "=", directly or after trailing spaces', () => {
  const random = seededRandom(11);
  // Runs as keys and as plain text, '=' far from a run, spaces that are not Go's (U+00E9 shares a lead
  // byte with U+00A0; U+2026 with U+2000), a space between run and '=' that ends the key instead.
  const pieces = ['ab', 'ab=', 'ab\u00a0=', 'ab\u3000', 'ab\u00a0\u2003=', 'ab\u00e9=', 'ab\u2026=', 'ab =', 'b=', 'a', '=', ' ', 'xab', 'ba\u3000=', 'cd=', 'cd\u205f=', 'x', '\u00a0', '\u2003='];
  const pattern = (run: string) => new RegExp(`${run}[${TRAILING_SPACES}]*=`);
  for (let round = 0; round < 600; round++) {
    // One needle, or two; after a plain filter on `x` or alone; lines mostly keys ('=' walk) or mostly
    // text (run search): the probe at the block start picks between the two.
    const needles = round % 2 === 0 ? ['ab'] : ['ab', 'cd'];
    const filter = { negated: false, needles: needles.map((n) => Buffer.from(n)), keyEnd: needles.map(() => true), texts: needles, caseInsensitive: false };
    const before = round % 4 >= 2 ? [{ negated: false, needles: [Buffer.from('x')], texts: ['x'], caseInsensitive: false }] : [];
    const weights = round % 3 === 0 ? pieces.map((p) => (p.includes('=') ? 6 : 1)) : pieces.map((p) => (p.includes('=') ? 1 : 6));
    const total = weights.reduce((a, b) => a + b, 0);
    const pick = () => {
      let r = random() * total;
      for (let i = 0; i < pieces.length; i++) if ((r -= weights[i]!) < 0) return pieces[i]!;
      return pieces[0]!;
    };
    const lines = Array.from({ length: 1 + Math.floor(random() * 40) }, () => Array.from({ length: Math.floor(random() * 5) }, pick).join(''));
    const block = encodeBlock({ id: 's', labels: { a: 'b' } }, lines.map((line, i) => ({ timestampNs: BigInt(i), line })));
    const from = Math.floor(random() * lines.length);
    const to = from + 1 + Math.floor(random() * (lines.length - from));
    const mask = rawFilterMask(block, from, to, [...before, filter]);
    const expected = lines.slice(from, to).map((line) => (before.length > 0 && !line.includes('x') ? 0 : needles.some((run) => pattern(run).test(line)) ? 1 : 0));
    assert.deepEqual([...mask!], expected, `${needles.join(',')}${before.length > 0 ? ' after x' : ''} on ${from}..${to} of ${JSON.stringify(lines)}`);
  }
});

test('a key-end match does not reach across lines', () => {
  // Lines sit back to back in a block: `ab` at one line's end and '=' at the next one's start.
  for (const lines of [['xab', '=1'], ['ab\u00a0', '='], ['x', 'a', 'b=']]) {
    const block = encodeBlock({ id: 's', labels: { a: 'b' } }, lines.map((line, i) => ({ timestampNs: BigInt(i), line })));
    const filter = { negated: false, needles: [Buffer.from('ab')], keyEnd: [true], texts: ['ab'], caseInsensitive: false };
    assert.deepEqual([...rawFilterMask(block, 0, lines.length, [filter])!], lines.map(() => 0), JSON.stringify(lines));
  }
});

test('the filters keep the same lines whichever order the probe of the block start picks', () => {
  // The first ~8 KB: '{' on 1 line in 20 (a one-byte filter that goes first); after it, on every line.
  const lines = Array.from({ length: 3000 }, (_, i) => {
    const json = i < 200 ? i % 20 === 0 : true;
    const event = i % 3 === 0 ? 'train_metrics' : 'eval';
    return json ? `{"event": "${event}", "step": ${i}, "pad": "${'x'.repeat(40)}"}` : `step ${i} event=${event} ${'y'.repeat(40)}`;
  });
  const block = encodeBlock({ id: 's', labels: { a: 'b' } }, lines.map((line, i) => ({ timestampNs: BigInt(i), line })));
  for (const query of ['{a="b"} | json | event="train_metrics"', '{a="b"} |= "pad" | json | event="train_metrics"', '{a="b"} |= "{" |= "train_metrics"', '{a="b"} |= "train_metrics" |= "{"']) {
    const pipeline = compilePipeline((parseExpr(query) as LogExpr).pipeline);
    for (const [from, to] of [[0, 3000], [0, 150], [150, 3000], [2999, 3000]] as const) {
      const mask = rawFilterMask(block, from, to, pipeline.rawFilters);
      const viaBytes: number[] = [];
      const perLine: number[] = [];
      for (let i = from; i < to; i++) {
        if (mask === null || mask[i - from] === 1) viaBytes.push(i);
        if (pipeline.rawFilters.every((f) => f.texts.some((t) => lines[i]!.includes(t)) !== f.negated)) perLine.push(i);
      }
      assert.deepEqual(viaBytes, perLine, `${query} on lines ${from}..${to}`);
      assert.ok(viaBytes.length > 0 || to - from === 1, query);
    }
  }
});

test('releaseBlockColumns frees only buffers the block holds alone', () => {
  const lines = (bytes: Buffer) => ({ stream: { id: 's', labels: {} }, timestampsNs: new BigInt64Array(1), lines: bytes, lineEnds: Uint32Array.of(bytes.length) });
  const own = lines(Buffer.alloc(128 * 1024, 'a'));
  releaseBlockColumns(own);
  assert.equal(own.lines.length, 0, 'a buffer of its own is detached');
  const shared = Buffer.alloc(256 * 1024, 'b');
  const part = lines(shared.subarray(0, 128 * 1024));
  releaseBlockColumns(part);
  assert.equal(part.lines.length, 128 * 1024, 'a view of a larger buffer is left alone');
  assert.equal(shared.length, 256 * 1024);
  const small = lines(Buffer.from('c'.repeat(100)));
  releaseBlockColumns(small);
  assert.equal(small.lines.toString(), 'c'.repeat(100), 'a small (possibly pooled) buffer is left alone');
});
