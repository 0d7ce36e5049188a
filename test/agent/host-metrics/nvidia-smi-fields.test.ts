// nvidia-smi csv lines to DCGM-named values: the table is the spec of each field's parsing.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  gpuLabels,
  invalidFieldOf,
  NvidiaSmiLineError,
  parseQueryGpuLine,
  queryGpuArgument,
  throttleReasons,
  VALUE_FIELDS,
} from '../../../src/agent/host-metrics/nvidia-smi-fields.ts';

const FIELD = (name: string) => VALUE_FIELDS.filter((field) => field.field === name);

const CASES: { field: string; text: string; metric: string; expected: number | undefined }[] = [
  { field: 'utilization.gpu', text: '97', metric: 'DCGM_FI_DEV_GPU_UTIL', expected: 97 },
  { field: 'memory.used', text: '60123', metric: 'DCGM_FI_DEV_FB_USED', expected: 60123 },
  { field: 'memory.free', text: '20901', metric: 'DCGM_FI_DEV_FB_FREE', expected: 20901 },
  { field: 'power.draw', text: '612.34', metric: 'DCGM_FI_DEV_POWER_USAGE', expected: 612.34 },
  { field: 'power.draw', text: '[N/A]', metric: 'DCGM_FI_DEV_POWER_USAGE', expected: undefined },
  { field: 'fan.speed', text: '[Not Supported]', metric: 'DCGM_FI_DEV_FAN_SPEED', expected: undefined },
  { field: 'temperature.memory', text: 'N/A', metric: 'DCGM_FI_DEV_MEMORY_TEMP', expected: undefined },
  { field: 'ecc.errors.uncorrected.volatile.total', text: '[Unknown Error]', metric: 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', expected: undefined },
  { field: 'ecc.errors.uncorrected.volatile.total', text: '2', metric: 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', expected: 2 },
  { field: 'clocks_throttle_reasons.active', text: '0x0000000000000044', metric: 'DCGM_FI_DEV_CLOCK_THROTTLE_REASONS', expected: 0x44 },
  { field: 'clocks_throttle_reasons.active', text: 'Active', metric: 'DCGM_FI_DEV_CLOCK_THROTTLE_REASONS', expected: undefined },
  { field: 'retired_pages.pending', text: 'Yes', metric: 'DCGM_FI_DEV_RETIRED_PENDING', expected: 1 },
  { field: 'retired_pages.pending', text: 'No', metric: 'DCGM_FI_DEV_RETIRED_PENDING', expected: 0 },
  { field: 'clocks.sm', text: 'garbage', metric: 'DCGM_FI_DEV_SM_CLOCK', expected: undefined },
];

for (const { field, text, metric, expected } of CASES) {
  test(`${field} = ${JSON.stringify(text)} → ${metric} ${expected ?? '(absent)'}`, () => {
    const reading = parseQueryGpuLine(`3, GPU-abc, NVIDIA A100-SXM4-80GB, 00000000:07:00.0, ${text}`, FIELD(field));
    assert.equal(reading.values.get(metric), expected);
    assert.equal(reading.values.has(metric), expected !== undefined);
  });
}

test('identity fields lead the query and become dcgm-exporter labels plus ours', () => {
  assert.match(queryGpuArgument(VALUE_FIELDS), /^index,uuid,name,pci\.bus_id,utilization\.gpu,/);
  const reading = parseQueryGpuLine('3, GPU-abc, NVIDIA A100-SXM4-80GB, 00000000:07:00.0, 50', FIELD('utilization.gpu'));
  assert.deepEqual(gpuLabels(reading, 'node-1'), {
    gpu: '3',
    UUID: 'GPU-abc',
    uuid: 'GPU-abc',
    device: 'nvidia3',
    modelName: 'NVIDIA A100-SXM4-80GB',
    pci_bus_id: '00000000:07:00.0',
    Hostname: 'node-1',
    host: 'node-1',
  });
});

test('lines of the wrong shape are refused with the line quoted', () => {
  assert.throws(() => parseQueryGpuLine('No devices were found', FIELD('utilization.gpu')), NvidiaSmiLineError);
  assert.throws(() => parseQueryGpuLine('0, GPU-abc, name, bus, 1, 2', FIELD('utilization.gpu')), /expected 5 comma-separated fields, got 6/);
  assert.throws(() => parseQueryGpuLine('x, GPU-abc, name, bus, 1', FIELD('utilization.gpu')), /not a GPU line/);
});

test('throttle bitmask → named reasons (NVML bit values)', () => {
  const active = (mask: number) => throttleReasons(mask).filter((reason) => reason.active === 1).map((reason) => reason.reason);
  assert.deepEqual(active(0), []);
  assert.deepEqual(active(0x4), ['sw_power_cap']);
  assert.deepEqual(active(0x1 | 0x40 | 0x80), ['gpu_idle', 'hw_thermal_slowdown', 'hw_power_brake_slowdown']);
});

test('an older driver\'s complaint names the field to drop', () => {
  assert.equal(invalidFieldOf('Field "temperature.memory" is not a valid field to query.\n'), 'temperature.memory');
  assert.equal(invalidFieldOf('NVIDIA-SMI has failed'), undefined);
});
