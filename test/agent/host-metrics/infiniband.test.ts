// InfiniBand port counters from a fixture /sys/class/infiniband tree.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readInfiniband } from '../../../src/agent/host-metrics/infiniband.ts';
import { IB_COUNTERS, writeNodeFixture } from './node-fixture.ts';

test('counters (data words ×4 to bytes), errors, state and rate per device and port', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-ib-'));
  try {
    const { sysRoot } = writeNodeFixture(dir);
    const values = new Map(readInfiniband(sysRoot).map((value) => [`${value.name}{${value.labels.device},${value.labels.port}}`, value.value]));
    const expected: [string, number][] = [
      ['node_infiniband_port_data_received_bytes_total', Number(IB_COUNTERS.port_rcv_data) * 4],
      ['node_infiniband_port_data_transmitted_bytes_total', Number(IB_COUNTERS.port_xmit_data) * 4],
      ['node_infiniband_port_packets_received_total', 40000000],
      ['node_infiniband_port_errors_received_total', 2],
      ['node_infiniband_symbol_error_total', 7],
      ['node_infiniband_link_downed_total', 1],
      ['node_infiniband_state_id', 4],
      ['node_infiniband_physical_state_id', 5],
      ['node_infiniband_rate_bytes_per_second', 50e9],
    ];
    for (const [name, value] of expected) assert.equal(values.get(`${name}{mlx5_0,1}`), value, name);
    assert.deepEqual(readInfiniband(join(dir, 'no-such-sys')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
