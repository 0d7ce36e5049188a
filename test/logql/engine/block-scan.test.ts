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

test('needles with constrained next bytes mark the lines whose match is followed by one of them', () => {
  const random = seededRandom(11);
  const pieces = ['ab', 'ab=', 'ab\u00a0=', 'ab\u3000', 'ab\u00e9', 'b=', 'a', '=', ' ', 'xab', 'ba\u3000', 'cd=', 'x'];
  const followedBy = new Uint8Array(256);
  for (const byte of [0x3d, 0xc2, 0xe3]) followedBy[byte] = 1;
  const onlyEquals = new Uint8Array(256);
  onlyEquals[0x3d] = 1;
  for (let round = 0; round < 400; round++) {
    // One needle, or two with different constraints; after a plain filter on `x` or alone.
    const needles = round % 2 === 0 ? ['ab'] : ['ab', 'cd'];
    const tables = round % 2 === 0 ? [followedBy] : [followedBy, onlyEquals];
    const filter = { negated: false, needles: needles.map((n) => Buffer.from(n)), followedBy: tables, texts: needles, caseInsensitive: false };
    const before = round % 4 >= 2 ? [{ negated: false, needles: [Buffer.from('x')], texts: ['x'], caseInsensitive: false }] : [];
    const lines = Array.from({ length: 1 + Math.floor(random() * 20) }, () => Array.from({ length: Math.floor(random() * 4) }, () => pieces[Math.floor(random() * pieces.length)]!).join(''));
    const block = encodeBlock({ id: 's', labels: { a: 'b' } }, lines.map((line, i) => ({ timestampNs: BigInt(i), line })));
    const from = Math.floor(random() * lines.length);
    const to = from + 1 + Math.floor(random() * (lines.length - from));
    const mask = rawFilterMask(block, from, to, [...before, filter]);
    const expected = lines.slice(from, to).map((line) => {
      const bytes = Buffer.from(line);
      if (before.length > 0 && !line.includes('x')) return 0;
      for (let n = 0; n < needles.length; n++) {
        const needle = needles[n]!;
        for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) if (at + needle.length < bytes.length && tables[n]![bytes[at + needle.length]!] === 1) return 1;
      }
      return 0;
    });
    assert.deepEqual([...mask!], expected, `${needles.join(',')}${before.length > 0 ? ' after x' : ''} on ${from}..${to} of ${JSON.stringify(lines)}`);
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
