import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_REPORTED_ERRORS, validatePush, type ValidationLimits } from '../../src/ingest/validate.ts';
import { RawLineEntry } from '../../src/push/raw-line-entry.ts';
import { TIGHT_LIMITS } from './validation-limits-fixture.ts';

const limits: ValidationLimits = TIGHT_LIMITS;
const nowMs = 1_700_000_000_000;
const now = BigInt(nowMs) * 1_000_000n;

test('valid entries pass and are counted in lines and UTF-8 bytes', () => {
  const result = validatePush([{ labels: { job: 'a' }, entries: [{ timestampNs: now, line: 'héllo' }, { timestampNs: now - 1n, line: 'x' }] }], limits, nowMs);
  assert.deepEqual(result.errors, []);
  assert.equal(result.acceptedLines, 2);
  assert.equal(result.acceptedBytes, 7);
});

test("each rule rejects with Loki's message and keeps the valid rest", () => {
  const cases: Array<[Parameters<typeof validatePush>[0], RegExp]> = [
    [[{ labels: {}, entries: [{ timestampNs: now, line: 'x' }] }], /^error at least one label pair is required per stream$/],
    [[{ labels: { a: '1', b: '2', c: '3', d: '4' }, entries: [{ timestampNs: now, line: 'x' }] }], /^entry for stream '\{a="1", b="2", c="3", d="4"\}' has 4 label names; limit 3$/],
    [[{ labels: { '1a': 'x' }, entries: [{ timestampNs: now, line: 'x' }] }], /error parsing labels .* invalid label name "1a"/],
    [[{ labels: { averyverylongname: 'x' }, entries: [{ timestampNs: now, line: 'x' }] }], /has label name too long: 'averyverylongname'/],
    [[{ labels: { a: 'averyverylongvalue' }, entries: [{ timestampNs: now, line: 'x' }] }], /has label value too long/],
    [[{ labels: { a: 'b' }, entries: [{ timestampNs: now, line: 'x'.repeat(17) }] }], /^max entry size '16' bytes exceeded for stream '\{a="b"\}' while adding an entry with length '17' bytes$/],
    [[{ labels: { a: 'b' }, entries: [{ timestampNs: now - 7_200_000_000_000n, line: 'x' }] }], /^entry for stream '\{a="b"\}' has timestamp too old: .*, oldest acceptable timestamp is: /],
    [[{ labels: { a: 'b' }, entries: [{ timestampNs: now + 3_600_000_000_000n, line: 'x' }] }], /^entry for stream '\{a="b"\}' has timestamp too new: /],
    [[{ labels: { a: 'b' }, entries: [{ timestampNs: now, line: 'x', structuredMetadata: [{ name: 'a', value: '1' }, { name: 'b', value: '1' }, { name: 'c', value: '1' }] }] }], /too many structured metadata labels/],
    [[{ labels: { a: 'b' }, entries: [{ timestampNs: now, line: 'x', structuredMetadata: [{ name: 'k', value: 'v'.repeat(30) }] }] }], /structured metadata too large/],
  ];
  for (const [streams, pattern] of cases) {
    const result = validatePush([...streams, { labels: { ok: 'yes' }, entries: [{ timestampNs: now, line: 'fine' }] }], limits, nowMs);
    assert.equal(result.errors.length, 1, String(pattern));
    assert.match(result.errors[0]!, pattern);
    assert.equal(result.acceptedLines, 1);
    assert.deepEqual(result.streams, [{ labels: { ok: 'yes' }, entries: [{ timestampNs: now, line: 'fine' }] }]);
  }
});

test('truncate mode cuts long lines on a character boundary and counts them', () => {
  const result = validatePush([{ labels: { a: 'b' }, entries: [{ timestampNs: now, line: 'ééééééééééé' }] }], { ...limits, maxLineSizeTruncate: true }, nowMs);
  assert.deepEqual(result.errors, []);
  assert.equal(result.truncatedLines, 1);
  assert.equal(result.streams[0]!.entries[0]!.line, 'éééééééé');
});

test('labels with empty values are dropped, as Prometheus treats them as absent', () => {
  const result = validatePush([{ labels: { a: 'b', empty: '' }, entries: [{ timestampNs: now, line: 'x' }] }], limits, nowMs);
  assert.deepEqual(result.streams[0]!.labels, { a: 'b' });
});

test('dropping or truncating an entry mid-stream keeps the others in order; an untouched stream passes through as is', () => {
  const entries = [
    { timestampNs: now, line: 'first' },
    { timestampNs: now, line: 'x'.repeat(17) },
    { timestampNs: now + 1n, line: 'third' },
  ];
  const stream = { labels: { a: 'b' }, entries };
  const rejected = validatePush([stream], limits, nowMs);
  assert.deepEqual(rejected.streams, [{ labels: { a: 'b' }, entries: [entries[0], entries[2]] }]);
  assert.equal(rejected.acceptedLines, 2);
  const truncated = validatePush([stream], { ...limits, maxLineSizeTruncate: true }, nowMs);
  assert.deepEqual(truncated.streams[0]!.entries.map((entry) => entry.line), ['first', 'x'.repeat(16), 'third']);
  assert.equal(entries[1]!.line.length, 17, 'the caller’s entry is not mutated');
  const clean = { labels: { a: 'b' }, entries: [entries[0]!, entries[2]!] };
  assert.equal(validatePush([clean], limits, nowMs).streams[0], clean);
});

test('rejections are listed up to MAX_REPORTED_ERRORS, then counted by reason in one line', () => {
  const entries = [
    ...Array.from({ length: 30 }, (_, i) => ({ timestampNs: now - 7_200_000_000_000n - BigInt(i), line: 'old' })),
    ...Array.from({ length: 5 }, () => ({ timestampNs: now, line: 'x'.repeat(17) })),
    { timestampNs: now, line: 'kept' },
  ];
  const result = validatePush([{ labels: { job: 'a' }, entries }, { labels: {}, entries: [{ timestampNs: now, line: 'no labels' }] }], limits, nowMs);
  assert.equal(result.rejected, 36);
  assert.equal(result.errors.length, MAX_REPORTED_ERRORS + 1);
  assert.match(result.errors[0]!, /has timestamp too old/);
  assert.equal(result.errors.at(-1), '... and 26 more rejected streams or entries not listed (discarded lines by reason: greater_than_max_sample_age=30, line_too_long=5, invalid_labels=1)');
  assert.equal(result.acceptedLines, 1);
});

test('a timestamp past what Date can print is reported in nanoseconds, not thrown', () => {
  const result = validatePush([{ labels: { job: 'a' }, entries: [{ timestampNs: 10n ** 30n, line: 'far' }] }], limits, nowMs);
  assert.deepEqual(result.errors, [`entry for stream '{job="a"}' has timestamp too new: ${10n ** 30n}ns`]);
});

test('raw-line entries are measured and truncated in their sent bytes, without decoding the rest', () => {
  const body = Buffer.from('xxéééééééééé');
  const entry = new RawLineEntry(now, body, 2, body.length);
  const rejected = validatePush([{ labels: { a: 'b' }, entries: [entry] }], limits, nowMs);
  assert.match(rejected.errors[0]!, /while adding an entry with length '20' bytes$/);
  const result = validatePush([{ labels: { a: 'b' }, entries: [entry, new RawLineEntry(now, body, 0, 2)] }], { ...limits, maxLineSizeTruncate: true }, nowMs);
  assert.equal(result.truncatedLines, 1);
  const [cut, short] = result.streams[0]!.entries;
  assert.ok(cut instanceof RawLineEntry && short instanceof RawLineEntry);
  assert.equal(cut.line, 'éééééééé');
  assert.equal(short.line, 'xx');
  assert.equal(result.acceptedBytes, 16 + 2);
});
