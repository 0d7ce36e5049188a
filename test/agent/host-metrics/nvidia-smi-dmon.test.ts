// `nvidia-smi dmon -s t` lines to PCIe throughput in DCGM's KB/s.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dmonColumns, parseDmonLine } from '../../../src/agent/host-metrics/nvidia-smi-dmon.ts';

test('header names the columns; rows scale MB/s to KB/s; "-" is absent; the units line is skipped', () => {
  const columns = dmonColumns('# gpu  rxpci  txpci ');
  assert.deepEqual(columns, { gpu: 0, rx: 1, tx: 2 });
  assert.equal(parseDmonLine('# Idx   MB/s   MB/s ', columns!), undefined);
  assert.deepEqual(parseDmonLine('    3    120     85 ', columns!), { index: '3', rxKBps: 120 * 1024, txKBps: 85 * 1024 });
  assert.deepEqual(parseDmonLine('    0      -      7', columns!), { index: '0', rxKBps: undefined, txKBps: 7 * 1024 });
  assert.equal(dmonColumns('# gpu   pwr  gtemp'), undefined);
});
