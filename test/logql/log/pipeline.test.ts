// The pipeline's split into raw-byte filters, decoded-line predicates and label stages, and the
// raw-byte scan itself, compared with the plain per-line semantics.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpr } from '../../../src/logql/syntax/index.ts';
import type { LogExpr } from '../../../src/logql/syntax/ast.ts';
import { compilePipeline, runWholePipeline } from '../../../src/logql/log/pipeline.ts';
import { rawFilterMask } from '../../../src/logql/engine/block-scan.ts';
import { encodeBlock } from '../engine/memory-source.ts';

function pipelineOf(query: string) {
  return compilePipeline((parseExpr(query) as LogExpr).pipeline);
}

test('literal filters before any line-changing stage run on raw bytes; later ones do not', () => {
  const pipeline = pipelineOf('{a="b"} |= "x" != "y" | json |= "z" | line_format "{{.m}}" |= "w"');
  assert.deepEqual(
    pipeline.rawFilters.map((f) => [f.negated, f.needles.map(String)]),
    [[false, ['x']], [true, ['y']], [false, ['z']]],
  );
  assert.deepEqual(pipeline.requiredLiterals, [{ literal: 'x', caseInsensitive: false }, { literal: 'z', caseInsensitive: false }]);
  // json, line_format and the last filter stay as stages.
  assert.equal(pipeline.stages.length, 3);
});

test('raw-byte scan agrees with per-line evaluation, including matches across line ends and folding', () => {
  const lines = ['error here', 'no match', 'ERR', 'OR split', 'Fail now', 'x \u212Aelvin', 'FAILURE', ''];
  const block = encodeBlock({ id: 's', labels: { a: 'b' } }, lines.map((line, i) => ({ timestampNs: BigInt(i), line })));
  for (const query of ['{a="b"} |= "error"', '{a="b"} |= "ERROR"', '{a="b"} != "o"', '{a="b"} |~ "(?i)(error|fail)"', '{a="b"} |~ "(?i)kelvin"', '{a="b"} |= "or" or "ai"']) {
    const pipeline = pipelineOf(query);
    const mask = rawFilterMask(block, 0, lines.length, pipeline.rawFilters);
    const viaBytes = lines.filter((line, i) => (mask === null || mask[i] === 1) && pipeline.linePredicates.every((p) => p(line)));
    const perLine = lines.filter((line) => runWholePipeline(pipeline, { a: 'b' }, undefined, 0n, line) !== null);
    assert.deepEqual(viaBytes, perLine, query);
  }
  // The Kelvin sign folds to k in RE2: the ASCII prefilter must not hide it.
  const kelvin = pipelineOf('{a="b"} |~ "(?i)kelvin"');
  const mask = rawFilterMask(block, 0, lines.length, kelvin.rawFilters);
  assert.ok(mask === null || mask[5] === 1);
  assert.ok(kelvin.linePredicates.every((p) => p('x \u212Aelvin')));
});
