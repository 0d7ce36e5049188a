// Go-compatible literal handling: durations, byte sizes, numbers and strings.
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  formatByteSize,
  formatGoDuration,
  formatPrometheusDuration,
  parseByteSize,
  parseGoDuration,
  parsePrometheusDuration,
} from '../../../src/logql/syntax/durations.ts';
import { formatFixed6, formatGoFloat, formatPlainFloat, parseGoFloat } from '../../../src/logql/syntax/numbers.ts';
import { quoteGoString, unquoteGoString } from '../../../src/logql/syntax/quoting.ts';

const S = 1_000_000_000n;

test('Prometheus durations', () => {
  assert.equal(parsePrometheusDuration('1h30m'), 5400n * S);
  assert.equal(parsePrometheusDuration('1y'), 365n * 86400n * S);
  assert.equal(parsePrometheusDuration('250ms'), 250_000_000n);
  assert.throws(() => parsePrometheusDuration('5minutes'), /unknown unit "minutes" in duration "5minutes"/);
  assert.throws(() => parsePrometheusDuration('30m1h'), /not a valid duration string/);
  assert.throws(() => parsePrometheusDuration('1.5h'), /unknown unit/);
  assert.throws(() => parsePrometheusDuration(''), /empty duration string/);
  assert.equal(formatPrometheusDuration(5400n * S), '1h30m');
  assert.equal(formatPrometheusDuration(90n * 86400n * S), '90d');
  assert.equal(formatPrometheusDuration(14n * 86400n * S), '2w');
  assert.equal(formatPrometheusDuration(0n), '0s');
});

test('Go durations', () => {
  assert.equal(parseGoDuration('1h15m30.918273645s'), 4530918273645n);
  assert.equal(parseGoDuration('-1.5s'), -1_500_000_000n);
  assert.equal(parseGoDuration('1µs'), 1000n);
  assert.throws(() => parseGoDuration('5d'), /unknown unit/);
  assert.equal(formatGoDuration(4530918273645n), '1h15m30.918273645s');
  assert.equal(formatGoDuration(300n * S), '5m0s');
  assert.equal(formatGoDuration(1500n), '1.5µs');
  assert.equal(formatGoDuration(20_000_000n), '20ms');
  assert.equal(formatGoDuration(-S), '-1s');
});

test('byte sizes', () => {
  assert.equal(parseByteSize('10GB'), 10e9);
  assert.equal(parseByteSize('2.5KiB'), 2560);
  assert.equal(parseByteSize('42 kB'), 42000);
  assert.equal(parseByteSize('5 parsecs'), undefined);
  assert.equal(formatByteSize(10e9), '10GB');
  assert.equal(formatByteSize(5), '5B');
  assert.equal(formatByteSize(2560), '2560B');
});

test('numbers', () => {
  assert.equal(parseGoFloat('0x1p3'), 8);
  assert.equal(parseGoFloat('.5'), 0.5);
  assert.equal(parseGoFloat('1e6'), 1e6);
  assert.throws(() => parseGoFloat('0x10'), /strconv.ParseFloat: parsing "0x10": invalid syntax/);
  assert.throws(() => parseGoFloat('1e400'), /value out of range/);
  assert.equal(formatGoFloat(123456), '123456');
  assert.equal(formatGoFloat(1234567), '1.234567e+06');
  assert.equal(formatGoFloat(0.00001), '1e-05');
  assert.equal(formatGoFloat(Number.NaN), 'NaN');
  assert.equal(formatPlainFloat(1e21), '1000000000000000000000');
  assert.equal(formatPlainFloat(1.5e-7), '0.00000015');
  assert.equal(formatFixed6(1), '1.000000');
});

test('Go strings', () => {
  assert.equal(unquoteGoString('"a\\"b\\x41\\101\\u00e9\\n"'), 'a"bAAé\n');
  assert.equal(unquoteGoString('`raw\\n`'), 'raw\\n');
  assert.equal(unquoteGoString('"\\xc3\\xa9"'), 'é');
  assert.throws(() => unquoteGoString('"\\q"'), /invalid syntax/);
  assert.equal(quoteGoString('a"b\\c\té\u0001\u00a0'), '"a\\"b\\\\c\\té\\x01\\u00a0"');
});
