// The head's sealed-chunk store: bytes kept exactly across pages (in memory or written to its file),
// per-series links, and clear() leaving views handed out readable.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HeadChunks } from '../../src/tsdb/head-chunks.ts';

test('chunks keep their bytes and times across many pages, linked per series, and views outlive clear()', () => {
  const chunks = new HeadChunks();
  const lasts = [-1, -1];
  const firsts = [-1, -1];
  const expected: Uint8Array[][] = [[], []];
  // ~3,000 chunks of up to 700 bytes: several 256 KiB pages and several column growths.
  for (let i = 0; i < 3000; i++) {
    const series = i % 2;
    const bytes = Uint8Array.from({ length: 1 + ((i * 37) % 700) }, (_, b) => (i + b) & 0xff);
    const at = chunks.add(bytes, i * 10, i * 10 + 5, i % 120, lasts[series]!);
    if (firsts[series]! < 0) firsts[series] = at;
    lasts[series] = at;
    expected[series]!.push(bytes);
  }
  // One chunk larger than a page gets a page of its own.
  const huge = new Uint8Array(300 * 1024).fill(7);
  const hugeAt = chunks.add(huge, 0, 1, 1, -1);
  const views: Uint8Array[] = [];
  for (const series of [0, 1]) {
    let n = 0;
    for (let at = firsts[series]!; at >= 0; at = chunks.next[at]!) {
      const i = n * 2 + series;
      assert.deepEqual(chunks.bytes(at), expected[series]![n], `series ${series} chunk ${n}`);
      assert.equal(chunks.minTimeMs[at], i * 10);
      assert.equal(chunks.maxTimeMs[at], i * 10 + 5);
      assert.equal(chunks.count[at], i % 120);
      views.push(chunks.bytes(at));
      n++;
    }
    assert.equal(n, 1500);
  }
  assert.deepEqual(chunks.bytes(hugeAt), huge);
  chunks.clear();
  assert.equal(chunks.size, 0);
  chunks.add(new Uint8Array([1, 2, 3]), 0, 0, 1, -1);
  assert.deepEqual(views[0], expected[0]![0], 'a view taken before clear() still reads its chunk');
});

test('with a file, full pages leave memory and read back exactly; the file is gone from the directory; clear() and close() keep chunks readable', () => {
  const directory = mkdtempSync(join(tmpdir(), 'head-chunks-'));
  try {
    const chunks = new HeadChunks(join(directory, 'head-chunks.tmp'));
    const expected: Uint8Array[] = [];
    let previous = -1;
    // ~2 MB: eight pages written out.
    for (let i = 0; i < 4000; i++) {
      const bytes = Uint8Array.from({ length: 100 + ((i * 53) % 900) }, (_, b) => (i * 7 + b) & 0xff);
      previous = chunks.add(bytes, i, i + 1, 120, previous);
      expected.push(bytes);
    }
    assert.deepEqual(readdirSync(directory), [], 'the file is unlinked once open');
    assert.ok(chunks.memoryBytes <= 256 * 1024, `only the page being filled is in memory (${chunks.memoryBytes} bytes)`);
    // Read in an order that defeats the page cache (first, last, first…) and in sequence.
    for (let k = 0; k < 4000; k++) {
      const i = k % 2 === 0 ? k / 2 : 3999 - (k - 1) / 2;
      assert.deepEqual(chunks.bytes(i), expected[i], `chunk ${i}`);
    }
    assert.ok(chunks.memoryBytes <= 17 * 256 * 1024, 'pages read back are cached, boundedly');
    const early = chunks.bytes(0);
    chunks.clear();
    assert.deepEqual(early, expected[0], 'a view taken before clear() still reads its chunk');
    for (let i = 0; i < 3000; i++) chunks.add(expected[i]!, i, i, 1, -1);
    const view = chunks.bytes(5);
    chunks.close();
    assert.deepEqual(view, expected[5]);
    for (const i of [0, 1500, 2999]) assert.deepEqual(chunks.bytes(i), expected[i], `chunk ${i} after close()`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('bytesInPageOrder returns each chunk\'s bytes in the order asked, read page by page from the file', () => {
  const directory = mkdtempSync(join(tmpdir(), 'head-chunks-'));
  try {
    const chunks = new HeadChunks(join(directory, 'head-chunks.tmp'));
    assert.equal(chunks.spilled, false, 'nothing in the file yet');
    // 200 series sealing 60 chunks each in turn, as a head does: one series' chunks lie in many
    // pages (~12 MB: more pages than the cache holds).
    const seriesCount = 200;
    const expected = new Map<number, Uint8Array>();
    const lasts = new Array<number>(seriesCount).fill(-1);
    const firsts = new Array<number>(seriesCount).fill(-1);
    for (let generation = 0; generation < 60; generation++) {
      for (let series = 0; series < seriesCount; series++) {
        const bytes = Uint8Array.from({ length: 900 + ((series * 31 + generation) % 200) }, (_, b) => (series * 13 + generation * 7 + b) & 0xff);
        const at = chunks.add(bytes, generation, generation, 120, lasts[series]!);
        if (firsts[series]! < 0) firsts[series] = at;
        lasts[series] = at;
        expected.set(at, bytes);
      }
    }
    assert.equal(chunks.spilled, true);
    // Series by series, as a query lists them.
    const asked: number[] = [];
    for (let series = 0; series < seriesCount; series++) for (let at = firsts[series]!; at >= 0; at = chunks.next[at]!) asked.push(at);
    const read = chunks.bytesInPageOrder(asked);
    assert.equal(read.length, asked.length);
    for (let k = 0; k < asked.length; k++) assert.deepEqual(read[k], expected.get(asked[k]!), `chunk ${asked[k]} (position ${k})`);
    assert.deepEqual(chunks.bytesInPageOrder([]), []);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('with a file, a view of a page handed out before the page is written out still reads its chunk; pages nobody viewed are freed', () => {
  const directory = mkdtempSync(join(tmpdir(), 'head-chunks-'));
  try {
    const chunks = new HeadChunks(join(directory, 'head-chunks.tmp'));
    const expected: Uint8Array[] = [];
    const add = (i: number): void => {
      const bytes = Uint8Array.from({ length: 500 }, (_, b) => (i * 11 + b) & 0xff);
      chunks.add(bytes, i, i, 120, -1);
      expected.push(bytes);
    };
    for (let i = 0; i < 10; i++) add(i);
    const early = chunks.bytes(3);
    // ~2.5 MB more: the first page and several unviewed ones are written out and leave memory.
    for (let i = 10; i < 5000; i++) add(i);
    assert.deepEqual(early, expected[3], 'a view taken before its page was written out');
    assert.ok(chunks.memoryBytes <= 256 * 1024, `only the page being filled is in memory (${chunks.memoryBytes} bytes)`);
    for (const i of [0, 3, 1000, 4999]) assert.deepEqual(chunks.bytes(i), expected[i], `chunk ${i}`);
    chunks.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
