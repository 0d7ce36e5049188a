// The byte twins (line-bytes.ts) answer what their string twins answer, on the same text as UTF-8,
// placed at an offset inside a larger body as the server's decoder leaves lines.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decimalValueBytes, globalPrefixLengthBytes, globalPrefixRankBytes } from '../../src/training/line-bytes.ts';
import { decimalValue } from '../../src/training/line-tokens.ts';
import { globalPrefixLength, globalPrefixRank } from '../../src/training/run-identity.ts';

/** `text` as bytes inside a body, with other bytes before and after it. */
function placed(text: string): { bytes: Buffer; start: number; end: number } {
  const before = Buffer.from('[rank9]: 12.5e3 ');
  const body = Buffer.concat([before, Buffer.from(text, 'utf8'), Buffer.from('7,000 [rank1]:')]);
  return { bytes: body, start: before.length, end: before.length + Buffer.byteLength(text) };
}

test('the `[rankN]:` prefix of a line in bytes is what globalPrefixLength reads on the string (table)', () => {
  const lines = ['[rank3]: step 1', '[rank3]:step 1', '[rank12]: x', '[rank1234567]: x', '[rank12345678]: x', '[rank]: x', '[rank3] x', '[rank3]', '[rank3]:', '[default0]: x', 'rank3]: x', '[Rank3]: x', '', '[r', '[rank3]: ██ é'];
  for (const line of lines) {
    const { bytes, start, end } = placed(line);
    const length = globalPrefixLengthBytes(bytes, start, end);
    assert.equal(length, globalPrefixLength(line), JSON.stringify(line));
    if (length > 0) assert.equal(globalPrefixRankBytes(bytes, start, length), globalPrefixRank(line, length), JSON.stringify(line));
  }
});

test('number tokens in bytes parse to what decimalValue gives on the string, NaN where it defers (table)', () => {
  const cases = ['0', '-0', '+3', '7,034', '1,234,567.25', '.5', '-.5', '2.3411e+00', '2.504220E+00', '1e-4', '5e-05', '41.19', '123456789012345', '1234567890123456', '0.1234567890123456', '1e23', '1.5e-30', '1.50e-07'];
  for (let k = 0; k < 500; k++) cases.push((Math.random() * 10 ** ((k % 24) - 12)).toPrecision(1 + (k % 15)));
  for (const text of cases) {
    const { bytes, start, end } = placed(text);
    assert.ok(Object.is(decimalValueBytes(bytes, start, end), decimalValue(text, 0, text.length)), text);
  }
});
