// latin1Text must read every slice as Buffer#toString('latin1') does: each length of the inline path
// and past it, bytes above 0x7f, and slices inside a larger buffer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latin1Text } from '../../../src/logql/log/latin1-text.ts';

test('latin1Text reads slices as Buffer#toString(latin1)', () => {
  const bytes = Buffer.from([0x20, 0x61, 0x7f, 0x80, 0xff, 0x00, 0x3d, 0x31, 0x2e, 0x35, 0xc3, 0xa9, 0x22, 0x5c, 0x7a]);
  for (let start = 0; start <= bytes.length; start++) {
    for (let end = start; end <= bytes.length; end++) {
      assert.equal(latin1Text(bytes, start, end), bytes.toString('latin1', start, end), `bytes ${start}..${end}`);
    }
  }
});
