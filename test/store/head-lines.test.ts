import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeadLines } from '../../src/store/head-lines.ts';

test('head lines: bytes and strings read back whole across chunk boundaries, from 1 byte to 200 KB', () => {
  // Sizes chosen to land lines on, before and across the growing chunks (128 B … 64 KiB) and the
  // fixed 64 KiB ones, including lines longer than a chunk.
  const sizes = [1, 126, 1, 128, 255, 3, 1000, 4096, 30_000, 65_536, 70_000, 200_000, 7, 0, 129_000];
  const lines = new HeadLines();
  const expected: Buffer[] = [];
  const ends: number[] = [];
  sizes.forEach((size, i) => {
    const text = String.fromCharCode(97 + (i % 26)).repeat(size);
    if (i % 2 === 0) lines.appendString(text);
    else lines.appendBytes(Buffer.from(`xx${text}yy`), 2, 2 + size);
    expected.push(Buffer.from(text));
    ends.push(lines.length);
  });
  const whole = Buffer.concat(expected);
  assert.equal(lines.length, whole.length);
  assert.ok(lines.concat().equals(whole));
  for (let i = 0; i < sizes.length; i++) {
    const start = i === 0 ? 0 : ends[i - 1]!;
    assert.ok(lines.view(start, ends[i]!).equals(expected[i]!), `line ${i} (${sizes[i]} bytes)`);
  }
  const target = Buffer.alloc(300_000);
  lines.copyTo(target, 5, 65_000, 300_000);
  assert.ok(target.subarray(5, 5 + 235_000).equals(whole.subarray(65_000, 300_000)));
});

test('head lines: multi-byte text that does not fit the chunk left goes through whole', () => {
  const lines = new HeadLines();
  // The first two chunks hold 128 + 256 bytes: 6 are left.
  lines.appendBytes(Buffer.alloc(378, 0x41), 0, 378);
  // 3 bytes per character: does not fit (for sure) in the 6 bytes left of the second chunk.
  const written = lines.appendString('€€€€');
  assert.equal(written, 12);
  assert.equal(lines.view(378, 390).toString('utf8'), '€€€€');
});

test('head lines: equal compares ranges by bytes, truncate drops the tail, release empties', () => {
  const lines = new HeadLines();
  lines.appendString('a'.repeat(250));
  lines.appendString('same line');
  lines.appendString('same line');
  lines.appendString('same lin!');
  assert.ok(lines.equal(250, 259, 259, 268));
  assert.ok(!lines.equal(250, 259, 268, 277));
  assert.ok(!lines.equal(250, 259, 259, 267));
  lines.truncate(268);
  lines.appendString('tail');
  assert.equal(lines.view(268, 272).toString(), 'tail');
  assert.equal(lines.length, 272);
  lines.release();
  assert.equal(lines.length, 0);
  assert.equal(lines.capacityBytes(), 0);
});

test('head lines: appendRange copies any range of other lines, across chunk boundaries on both sides', () => {
  const source = new HeadLines();
  const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
  source.appendBytes(bytes, 0, bytes.length);
  // Ranges inside one chunk, across the growing chunks, across fixed chunks, and empty.
  const ranges: Array<[number, number]> = [[0, 1], [100, 500], [127, 129], [16_000, 90_000], [65_000, 300_000], [5, 5]];
  const target = new HeadLines();
  target.appendBytes(Buffer.from('head:'), 0, 5);
  let expected = Buffer.from('head:');
  for (const [start, end] of ranges) {
    target.appendRange(source, start, end);
    expected = Buffer.concat([expected, bytes.subarray(start, end)]);
  }
  assert.equal(target.length, expected.length);
  assert.ok(target.concat().equals(expected));
});

test('head lines: released 64 KiB chunks fill the pool, the rest are freed at once, and pooled ones serve new lines', () => {
  // 12 MB of lines: three times what the pool keeps.
  const big = new HeadLines();
  const line = Buffer.alloc(1000, 'x');
  for (let i = 0; i < 12_000; i++) big.appendBytes(line, 0, line.length);
  const chunks = (big as unknown as { chunks: Buffer[] }).chunks.filter((chunk) => chunk.length === 64 * 1024);
  const memories = chunks.map((chunk) => chunk.buffer as ArrayBuffer);
  big.release();
  const freed = memories.filter((memory) => memory.detached).length;
  // The pool keeps at most 4 MB (64 chunks), some of it maybe filled by earlier tests.
  assert.ok(freed >= memories.length - 64 && freed > 0, `${freed} of ${memories.length} chunks freed`);
  // The next lines take pooled chunks: whole and unharmed by what the chunks held before.
  const next = new HeadLines();
  const text = 'yz'.repeat(300_000);
  next.appendString(text);
  assert.equal(next.concat().toString('utf8'), text);
});

test('head lines: appendLines of spans gives what appendBytes line by line gives (table)', () => {
  // A source with framing between lines, as a request body has: line i is `len(i)` bytes after `gap(i)`.
  const layout = (count: number, len: (i: number) => number, gap: (i: number) => number): { source: Buffer; spans: Uint32Array } => {
    const spans = new Uint32Array(count * 2);
    const parts: Buffer[] = [];
    let offset = 0;
    for (let i = 0; i < count; i++) {
      parts.push(Buffer.alloc(gap(i), 0xff), Buffer.alloc(len(i), 97 + (i % 26)));
      spans[i * 2] = offset + gap(i);
      offset += gap(i) + len(i);
      spans[i * 2 + 1] = offset;
    }
    return { source: Buffer.concat(parts), spans };
  };
  const backwards = layout(4, () => 5, () => 2);
  backwards.spans.set([14, 19, 2, 7, 2, 12, 9, 9]); // later lines before earlier ones, overlapping, one empty
  const cases: Array<{ name: string; source: Buffer; spans: Uint32Array; before?: number }> = [
    { name: 'short lines with framing', ...layout(2000, (i) => 20 + (i % 90), () => 14) },
    { name: 'back to back', ...layout(500, (i) => 1 + (i % 300), () => 0) },
    { name: 'lines larger than a chunk', ...layout(6, (i) => 70_000 + i * 1000, () => 3) },
    { name: 'empty lines', ...layout(50, (i) => (i % 3 === 0 ? 0 : 7), () => 2) },
    { name: 'after bytes already held, mid-chunk', ...layout(800, (i) => 100 + (i % 13), () => 9), before: 1000 },
    { name: 'spans going backwards and overlapping', ...backwards },
  ];
  for (const { name, source, spans, before = 0 } of cases) {
    const count = spans.length / 2;
    const want = new HeadLines();
    const got = new HeadLines();
    const prefix = Buffer.alloc(before, 0x7a);
    want.appendBytes(prefix, 0, before);
    got.appendBytes(prefix, 0, before);
    const wantEnds = new Uint32Array(count + 3);
    const gotEnds = new Uint32Array(count + 3);
    for (let i = 0; i < count; i++) {
      want.appendBytes(source, spans[i * 2]!, spans[i * 2 + 1]!);
      wantEnds[i + 3] = want.length;
    }
    got.appendLines(source, spans, 0, count, gotEnds, 3);
    assert.equal(got.length, want.length, `${name}: length`);
    assert.deepEqual(Array.from(gotEnds), Array.from(wantEnds), `${name}: line ends`);
    assert.ok(got.concat().equals(want.concat()), `${name}: bytes`);
  }
});
