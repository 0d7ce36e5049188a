// parseGoFloat reads every decimal exactly as Number() does (its short-decimal fast path included),
// and Go's other float syntaxes and errors as strconv.ParseFloat does.
import assert from 'node:assert/strict';
import test from 'node:test';
import { ConversionError, parseGoFloat } from '../../../src/logql/log/units.ts';

test('decimals read as Number() reads them, at every digit count around the fast path', () => {
  const cases = [
    '0', '-0', '+0', '-0.0', '5.', '+5.25', '007.50', '2.5431', '8.8515', '0.1', '0.3', '-1.5e-07',
    '123456789012345', '1234567890123456', '12345678901234.5', '1234567890123.45', '0.000000000000001',
    '0.30000000000000004', '9007199254740993', '999999999999999.9', '.5', '1_000.5', '1e5',
  ];
  for (const text of cases) {
    const want = Number(text.replaceAll('_', ''));
    assert.ok(Object.is(parseGoFloat(text), want), `${text}: ${parseGoFloat(text)} against ${want}`);
  }
  // Random decimals of 1-18 digits with the point anywhere, signed or not.
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let k = 0; k < 20_000; k++) {
    const digits = 1 + Math.floor(random() * 18);
    let text = '';
    for (let d = 0; d < digits; d++) text += String(Math.floor(random() * 10));
    const point = Math.floor(random() * (digits + 1));
    if (point < digits && random() < 0.8) text = `${text.slice(0, point) || '0'}.${text.slice(point)}`;
    if (random() < 0.3) text = `-${text}`;
    const want = Number(text);
    assert.ok(Object.is(parseGoFloat(text), want), `${text}: ${parseGoFloat(text)} against ${want}`);
  }
});

test('what is not a Go float is an error, with Go\'s wording', () => {
  for (const text of ['', '-', '+', '.', '1.2.3', '1,5', ' 1', '1 ', 'abc', '--1']) {
    assert.throws(() => parseGoFloat(text), (error: unknown) => error instanceof ConversionError && error.message.startsWith('strconv.ParseFloat: parsing '), text);
  }
  assert.equal(parseGoFloat('-Inf'), -Infinity);
  assert.equal(parseGoFloat('0x1p-2'), 0.25);
  assert.ok(Number.isNaN(parseGoFloat('NaN')));
});
