// /proc parsers against the fixture files in the kernel's formats, and node_exporter's names.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseProcStat, type NodeValue } from '../../../src/agent/host-metrics/node-proc.ts';
import { DISKSTATS, MEMINFO, NET_DEV, PROC_STAT } from './node-fixture.ts';

const find = (values: NodeValue[], name: string, labels: Record<string, string> = {}) =>
  values.filter((value) => value.name === name && Object.entries(labels).every(([key, text]) => value.labels[key] === text)).map((value) => value.value);

test('/proc/stat: seconds per cpu and mode (USER_HZ 100), the aggregate line skipped', () => {
  const values = parseProcStat(PROC_STAT);
  assert.equal(values.length, 2 * 8);
  assert.deepEqual(find(values, 'node_cpu_seconds_total', { cpu: '0', mode: 'user' }), [24]);
  assert.deepEqual(find(values, 'node_cpu_seconds_total', { cpu: '1', mode: 'idle' }), [18.99]);
  assert.deepEqual(find(values, 'node_cpu_seconds_total', { cpu: '1', mode: 'steal' }), [0.07]);
});

test('/proc/meminfo: kB to bytes, the fields a triage needs', () => {
  const values = parseMeminfo(MEMINFO);
  assert.deepEqual(find(values, 'node_memory_MemTotal_bytes'), [2113417216 * 1024]);
  assert.deepEqual(find(values, 'node_memory_MemAvailable_bytes'), [1800000000 * 1024]);
  assert.deepEqual(find(values, 'node_memory_HugePages_Total_bytes'), []);
});

test('/proc/loadavg', () => {
  assert.deepEqual(parseLoadavg('12.50 11.25 10.00 3/1200 4242\n').map((value) => [value.name, value.value]), [
    ['node_load1', 12.5],
    ['node_load5', 11.25],
    ['node_load15', 10],
  ]);
});

test('/proc/diskstats: 512-byte sectors to bytes, partitions and loop devices skipped', () => {
  const values = parseDiskstats(DISKSTATS);
  assert.deepEqual([...new Set(values.map((value) => value.labels.device))], ['nvme0n1']);
  assert.deepEqual(find(values, 'node_disk_read_bytes_total'), [20586066 * 512]);
  assert.deepEqual(find(values, 'node_disk_written_bytes_total'), [476123976 * 512]);
  assert.deepEqual(find(values, 'node_disk_io_time_seconds_total'), [3456.789]);
});

test('/proc/net/dev: bytes, packets, errors and drops per interface, headers skipped', () => {
  const values = parseNetDev(NET_DEV);
  assert.deepEqual(find(values, 'node_network_receive_bytes_total', { device: 'eth0' }), [987654321]);
  assert.deepEqual(find(values, 'node_network_transmit_bytes_total', { device: 'eth0' }), [123456789]);
  assert.deepEqual(find(values, 'node_network_receive_errs_total', { device: 'eth0' }), [2]);
  assert.deepEqual(find(values, 'node_network_transmit_drop_total', { device: 'eth0' }), [4]);
  assert.deepEqual(find(values, 'node_network_receive_bytes_total', { device: 'lo' }), [5000000]);
  assert.equal(values.length, 2 * 8);
});
