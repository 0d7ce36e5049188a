// The raw-byte line filters of a block scan against the per-line semantics, over random filter chains
// on random lines: later filters only search lines earlier ones kept, several needles mark a line once,
// and matches that would span two lines count for neither.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpr } from '../../../src/logql/syntax/index.ts';
import type { LogExpr } from '../../../src/logql/syntax/ast.ts';
import { compilePipeline, runWholePipeline } from '../../../src/logql/log/pipeline.ts';
import { rawFilterMask } from '../../../src/logql/engine/block-scan.ts';
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

test('a needle with constrained next bytes marks the lines whose match is followed by one of them', () => {
  const random = seededRandom(11);
  const pieces = ['ab', 'ab=', 'ab\u00a0=', 'ab\u3000', 'ab\u00e9', 'b=', 'a', '=', ' ', 'xab'];
  const followedBy = new Uint8Array(256);
  for (const byte of [0x3d, 0xc2, 0xe3]) followedBy[byte] = 1;
  const filter = { negated: false, needles: [Buffer.from('ab')], followedBy: [followedBy], texts: ['ab'], caseInsensitive: false };
  for (let round = 0; round < 200; round++) {
    const lines = Array.from({ length: 1 + Math.floor(random() * 20) }, () => Array.from({ length: Math.floor(random() * 4) }, () => pieces[Math.floor(random() * pieces.length)]!).join(''));
    const block = encodeBlock({ id: 's', labels: { a: 'b' } }, lines.map((line, i) => ({ timestampNs: BigInt(i), line })));
    const mask = rawFilterMask(block, 0, lines.length, [filter]);
    const expected = lines.map((line) => {
      const bytes = Buffer.from(line);
      for (let at = bytes.indexOf('ab'); at >= 0; at = bytes.indexOf('ab', at + 1)) if (at + 2 < bytes.length && followedBy[bytes[at + 2]!] === 1) return 1;
      return 0;
    });
    assert.deepEqual([...mask!], expected, JSON.stringify(lines));
  }
});
