// The `nvidia-smi --query-gpu` fields we ask for and the DCGM names they become, so dashboards
// written for dcgm-exporter work unchanged. Units are the ones DCGM reports: MiB for frame buffer,
// W for power, °C, MHz, % and plain counts. nvidia-smi's csv `nounits` output already uses these.
//
// Not in query mode: PCIe throughput (read from `nvidia-smi dmon -s t`, nvidia-smi-dmon.ts), NVLink
// throughput and XID events (NVML's event API or the kernel log; not collected).

import type { Labels } from '../../push/types.ts';

/** How a field's text becomes a number. `bitmask` is hex ("0x…04"); `yes_no` is Yes/No. */
type FieldParse = 'number' | 'bitmask' | 'yes_no';

interface ValueField {
  field: string;
  metric: string;
  parse: FieldParse;
  help: string;
}

/** Fields that become labels, in the order they lead every csv line. */
export const IDENTITY_FIELDS = ['index', 'uuid', 'name', 'pci.bus_id'] as const;

export const VALUE_FIELDS: readonly ValueField[] = [
  { field: 'utilization.gpu', metric: 'DCGM_FI_DEV_GPU_UTIL', parse: 'number', help: 'GPU utilization (in %).' },
  { field: 'utilization.memory', metric: 'DCGM_FI_DEV_MEM_COPY_UTIL', parse: 'number', help: 'Memory utilization (in %).' },
  { field: 'memory.total', metric: 'DCGM_FI_DEV_FB_TOTAL', parse: 'number', help: 'Frame buffer memory total (in MiB).' },
  { field: 'memory.used', metric: 'DCGM_FI_DEV_FB_USED', parse: 'number', help: 'Frame buffer memory used (in MiB).' },
  { field: 'memory.free', metric: 'DCGM_FI_DEV_FB_FREE', parse: 'number', help: 'Frame buffer memory free (in MiB).' },
  { field: 'power.draw', metric: 'DCGM_FI_DEV_POWER_USAGE', parse: 'number', help: 'Power draw (in W).' },
  { field: 'power.limit', metric: 'DCGM_FI_DEV_POWER_MGMT_LIMIT', parse: 'number', help: 'Power management limit (in W).' },
  { field: 'temperature.gpu', metric: 'DCGM_FI_DEV_GPU_TEMP', parse: 'number', help: 'GPU temperature (in C).' },
  { field: 'temperature.memory', metric: 'DCGM_FI_DEV_MEMORY_TEMP', parse: 'number', help: 'Memory temperature (in C).' },
  { field: 'clocks.sm', metric: 'DCGM_FI_DEV_SM_CLOCK', parse: 'number', help: 'SM clock frequency (in MHz).' },
  { field: 'clocks.mem', metric: 'DCGM_FI_DEV_MEM_CLOCK', parse: 'number', help: 'Memory clock frequency (in MHz).' },
  { field: 'fan.speed', metric: 'DCGM_FI_DEV_FAN_SPEED', parse: 'number', help: 'Fan speed (in %).' },
  { field: 'clocks_throttle_reasons.active', metric: 'DCGM_FI_DEV_CLOCK_THROTTLE_REASONS', parse: 'bitmask', help: 'Current clock throttle reasons (bitmask of NVML reasons).' },
  { field: 'ecc.errors.uncorrected.volatile.total', metric: 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', parse: 'number', help: 'Total number of double-bit volatile ECC errors.' },
  { field: 'ecc.errors.corrected.volatile.total', metric: 'DCGM_FI_DEV_ECC_SBE_VOL_TOTAL', parse: 'number', help: 'Total number of single-bit volatile ECC errors.' },
  { field: 'ecc.errors.uncorrected.aggregate.total', metric: 'DCGM_FI_DEV_ECC_DBE_AGG_TOTAL', parse: 'number', help: 'Total number of double-bit persistent ECC errors.' },
  { field: 'ecc.errors.corrected.aggregate.total', metric: 'DCGM_FI_DEV_ECC_SBE_AGG_TOTAL', parse: 'number', help: 'Total number of single-bit persistent ECC errors.' },
  { field: 'retired_pages.single_bit_ecc.count', metric: 'DCGM_FI_DEV_RETIRED_SBE', parse: 'number', help: 'Total number of retired pages due to single-bit errors.' },
  { field: 'retired_pages.double_bit.count', metric: 'DCGM_FI_DEV_RETIRED_DBE', parse: 'number', help: 'Total number of retired pages due to double-bit errors.' },
  { field: 'retired_pages.pending', metric: 'DCGM_FI_DEV_RETIRED_PENDING', parse: 'yes_no', help: 'Whether pages are pending retirement (1 = yes).' },
  { field: 'pcie.link.gen.current', metric: 'DCGM_FI_DEV_PCIE_LINK_GEN', parse: 'number', help: 'Current PCIe link generation.' },
  { field: 'pcie.link.width.current', metric: 'DCGM_FI_DEV_PCIE_LINK_WIDTH', parse: 'number', help: 'Current PCIe link width.' },
];

/**
 * NVML's clock throttle reason bits (nvmlClocksThrottleReason*, the same values DCGM reports in
 * DCGM_FI_DEV_CLOCK_THROTTLE_REASONS), named as nvidia-smi names the matching query fields.
 */
export const THROTTLE_REASON_BITS: readonly { reason: string; bit: number }[] = [
  { reason: 'gpu_idle', bit: 0x1 },
  { reason: 'applications_clocks_setting', bit: 0x2 },
  { reason: 'sw_power_cap', bit: 0x4 },
  { reason: 'hw_slowdown', bit: 0x8 },
  { reason: 'sync_boost', bit: 0x10 },
  { reason: 'sw_thermal_slowdown', bit: 0x20 },
  { reason: 'hw_thermal_slowdown', bit: 0x40 },
  { reason: 'hw_power_brake_slowdown', bit: 0x80 },
  { reason: 'display_clock_setting', bit: 0x100 },
];
export const THROTTLE_REASON_METRIC = 'rankscope_gpu_clock_throttle_reason_active';

/** One GPU's reading: identity labels and metric name → value (unsupported fields absent). */
export interface GpuReading {
  index: string;
  uuid: string;
  name: string;
  pciBusId: string;
  values: Map<string, number>;
}

export class NvidiaSmiLineError extends Error {}

/** The --query-gpu argument for `valueFields` (identity fields first). */
export function queryGpuArgument(valueFields: readonly ValueField[]): string {
  return [...IDENTITY_FIELDS, ...valueFields.map((field) => field.field)].join(',');
}

/** "[N/A]", "[Not Supported]", "[Unknown Error]", "N/A" and the like: the GPU cannot report it. */
function isUnavailable(text: string): boolean {
  return text === '' || text.startsWith('[') || text === 'N/A' || text === 'Not Supported';
}

function parseValue(text: string, parse: FieldParse): number | undefined {
  if (isUnavailable(text)) return undefined;
  if (parse === 'yes_no') return text === 'Yes' ? 1 : text === 'No' ? 0 : undefined;
  if (parse === 'bitmask') {
    if (!/^0x[0-9a-fA-F]+$/.test(text)) return undefined;
    return Number(BigInt(text));
  }
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * One line of `--format=csv,noheader,nounits` output. nvidia-smi separates fields with ", " and
 * does not quote; GPU names carry no commas. Throws NvidiaSmiLineError for a line of the wrong shape.
 */
export function parseQueryGpuLine(line: string, valueFields: readonly ValueField[]): GpuReading {
  const parts = line.split(',').map((part) => part.trim());
  const expected = IDENTITY_FIELDS.length + valueFields.length;
  if (parts.length !== expected) throw new NvidiaSmiLineError(`expected ${expected} comma-separated fields, got ${parts.length}: ${JSON.stringify(line.slice(0, 200))}`);
  const [index, uuid, name, pciBusId] = parts as [string, string, string, string];
  if (!/^\d+$/.test(index) || uuid === '') throw new NvidiaSmiLineError(`not a GPU line (index ${JSON.stringify(index)}): ${JSON.stringify(line.slice(0, 200))}`);
  const values = new Map<string, number>();
  valueFields.forEach((field, position) => {
    const value = parseValue(parts[IDENTITY_FIELDS.length + position]!, field.parse);
    if (value !== undefined) values.set(field.metric, value);
  });
  return { index, uuid, name, pciBusId, values };
}

/** The named reasons a throttle bitmask holds, each 0 or 1. */
export function throttleReasons(bitmask: number): { reason: string; active: number }[] {
  return THROTTLE_REASON_BITS.map(({ reason, bit }) => ({ reason, active: (bitmask & bit) !== 0 ? 1 : 0 }));
}

/** dcgm-exporter's labels for a GPU (gpu, UUID, device, modelName, Hostname, pci_bus_id) plus ours (uuid, host). */
export function gpuLabels(reading: GpuReading, host: string): Labels {
  return {
    gpu: reading.index,
    UUID: reading.uuid,
    uuid: reading.uuid,
    device: `nvidia${reading.index}`,
    modelName: reading.name,
    pci_bus_id: reading.pciBusId,
    Hostname: host,
    host,
  };
}

/** From nvidia-smi's complaint about a field an older driver does not know, that field's name. */
export function invalidFieldOf(output: string): string | undefined {
  return /Field "([^"]+)" is not a valid field to query/.exec(output)?.[1];
}
