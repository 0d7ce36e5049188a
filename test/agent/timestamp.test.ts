import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTimeZone, parseLineTimestamp, parseRfc3339Ns } from '../../src/agent/timestamp.ts';

const ns = (iso: string, extraNs = 0n): bigint => BigInt(Date.parse(iso)) * 1_000_000n + extraNs;

test('timestamps at the start of a line, converted to UTC', () => {
  const cases: [string, 'auto' | 'rfc3339' | 'python' | 'epoch', string, bigint | undefined][] = [
    ['2024-05-01T12:00:00.123456789Z step 1', 'auto', 'UTC', ns('2024-05-01T12:00:00.123Z', 456789n)],
    ['2024-05-01T12:00:00+02:00 x', 'auto', 'UTC', ns('2024-05-01T10:00:00Z')],
    ['2024-05-01 12:00:00,250 - INFO - x', 'auto', 'UTC', ns('2024-05-01T12:00:00.250Z')],
    // Berlin is UTC+2 in summer and UTC+1 in winter: Intl supplies the DST rule.
    ['2024-07-01 12:00:00,000 INFO', 'python', 'Europe/Berlin', ns('2024-07-01T10:00:00Z')],
    ['2024-01-15 12:00:00,000 INFO', 'python', 'Europe/Berlin', ns('2024-01-15T11:00:00Z')],
    ['2024-03-10 12:00:00 x', 'rfc3339', 'America/New_York', ns('2024-03-10T16:00:00Z')],
    ['[2024-05-01 12:00:00,001] x', 'python', 'UTC', ns('2024-05-01T12:00:00.001Z')],
    ['1714564800 loss 2', 'epoch', 'UTC', ns('2024-05-01T12:00:00Z')],
    ['1714564800123 loss 2', 'epoch', 'UTC', ns('2024-05-01T12:00:00.123Z')],
    ['1714564800.5 loss 2', 'epoch', 'UTC', ns('2024-05-01T12:00:00.500Z')],
    ['step 1 loss 2', 'auto', 'UTC', undefined],
    ['1714564800 loss 2', 'auto', 'UTC', undefined],
    ['2024-13-01 12:00:00,000 x', 'python', 'UTC', undefined],
  ];
  for (const [line, format, timeZone, expected] of cases) {
    assert.equal(parseLineTimestamp(line, { format, timeZone }), expected, `${format} ${timeZone} ${line}`);
  }
});

test('CRI timestamps keep nanoseconds', () => {
  assert.equal(parseRfc3339Ns('2024-05-01T12:00:00.000000001Z'), ns('2024-05-01T12:00:00Z', 1n));
});

test('unknown zones are rejected with the name', () => {
  assert.throws(() => checkTimeZone('Mars/Olympus'), /Mars\/Olympus/);
  checkTimeZone('Asia/Kolkata');
});
