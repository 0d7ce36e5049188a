// The metrics bench's workload: per simulated GPU node, 8 GPUs × 20 DCGM fields, 48 CPUs × 8
// node_cpu_seconds_total modes and 100 other node_exporter series (644 series), stepped every 15 s
// from a fixed seed. Two value models:
//
// - `realistic` (default): values move as the exporters' do on a busy training node. CPU counters
//   advance by 15 s × the node's utilisation in hundredths (USER_HZ), split over user/system/idle,
//   with iowait/irq/softirq creeping and nice/steal at 0; GPU utilisation near 100 with jitter,
//   temperatures drifting by a degree now and then, clocks and framebuffer use constant, power a
//   3-decimal reading, profiling ratios 6-decimal readings, NVLink/PCIe throughput large integers,
//   energy a counter in mJ; of the other node series 40% constant (sizes, info), the rest counters
//   and gauges of network, disk and memory. Prometheus stores this at ~1.3–2 bytes a sample, the
//   range the issue quotes for node and GPU exporter data, which is what calibrates it.
// - `noisy`: every series a random walk (counters by random hundredths, gauges with 3 random
//   decimals each step): a worst case, Prometheus needs ~6 bytes a sample on it.

type Step = (random: () => number) => number;

export interface WorkloadSeries {
  labels: Record<string, string>;
  step: Step;
}

export type WorkloadModel = 'realistic' | 'noisy';

const DCGM_FIELDS = [
  'DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_MEM_COPY_UTIL', 'DCGM_FI_DEV_GPU_TEMP', 'DCGM_FI_DEV_MEMORY_TEMP', 'DCGM_FI_DEV_POWER_USAGE',
  'DCGM_FI_DEV_SM_CLOCK', 'DCGM_FI_DEV_MEM_CLOCK', 'DCGM_FI_DEV_FB_USED', 'DCGM_FI_DEV_FB_FREE', 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
  'DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 'DCGM_FI_DEV_XID_ERRORS', 'DCGM_FI_PROF_GR_ENGINE_ACTIVE', 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', 'DCGM_FI_PROF_DRAM_ACTIVE',
  'DCGM_FI_PROF_NVLINK_TX_BYTES', 'DCGM_FI_PROF_NVLINK_RX_BYTES', 'DCGM_FI_PROF_PCIE_TX_BYTES', 'DCGM_FI_PROF_PCIE_RX_BYTES', 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL',
] as const;
const CPU_MODES = ['idle', 'user', 'system', 'iowait', 'irq', 'softirq', 'nice', 'steal'] as const;
const COUNTER_FIELDS = new Set(['DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL']);

const round = (value: number, decimals: number): number => Math.round(value * 10 ** decimals) / 10 ** decimals;
const jitter = (random: () => number, amplitude: number): number => (random() * 2 - 1) * amplitude;

/** A counter starting at `start`, advancing by `increment()` each step. */
function counter(start: number, increment: Step, decimals = 0): Step {
  let value = start;
  return (random) => (value = round(value + increment(random), decimals));
}

/** A gauge re-read around `center` each step. */
function reading(center: number, amplitude: number, decimals: number): Step {
  return (random) => round(center + jitter(random, amplitude), decimals);
}

/** An integer gauge drifting by ±1 with probability `p` per step, within [low, high]. */
function drift(start: number, p: number, low: number, high: number): Step {
  let value = start;
  return (random) => {
    if (random() < p) value = Math.min(high, Math.max(low, value + (random() < 0.5 ? -1 : 1)));
    return value;
  };
}

const constant = (value: number): Step => () => value;

function realisticDcgm(field: (typeof DCGM_FIELDS)[number], random: () => number): Step {
  switch (field) {
    case 'DCGM_FI_DEV_GPU_UTIL': return (r) => Math.min(100, 96 + Math.floor(r() * 5));
    case 'DCGM_FI_DEV_MEM_COPY_UTIL': return reading(40, 4, 0);
    case 'DCGM_FI_DEV_GPU_TEMP': return drift(60 + Math.floor(random() * 15), 0.2, 40, 90);
    case 'DCGM_FI_DEV_MEMORY_TEMP': return drift(70 + Math.floor(random() * 10), 0.2, 40, 95);
    case 'DCGM_FI_DEV_POWER_USAGE': return reading(600 + random() * 60, 30, 3);
    case 'DCGM_FI_DEV_SM_CLOCK': return constant(1980);
    case 'DCGM_FI_DEV_MEM_CLOCK': return constant(2619);
    case 'DCGM_FI_DEV_FB_USED': return constant(70_000 + Math.floor(random() * 8000));
    case 'DCGM_FI_DEV_FB_FREE': return constant(1000 + Math.floor(random() * 8000));
    case 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION': return counter(Math.floor(random() * 1e10), (r) => Math.round((630 + jitter(r, 30)) * 15_000));
    case 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER': return constant(0);
    case 'DCGM_FI_DEV_XID_ERRORS': return constant(0);
    case 'DCGM_FI_PROF_GR_ENGINE_ACTIVE': return reading(0.985, 0.014, 6);
    case 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE': return reading(0.45, 0.05, 6);
    case 'DCGM_FI_PROF_DRAM_ACTIVE': return reading(0.6, 0.05, 6);
    case 'DCGM_FI_PROF_NVLINK_TX_BYTES':
    case 'DCGM_FI_PROF_NVLINK_RX_BYTES': return reading(5e10, 5e9, 0);
    case 'DCGM_FI_PROF_PCIE_TX_BYTES':
    case 'DCGM_FI_PROF_PCIE_RX_BYTES': return reading(1e9, 1e8, 0);
    case 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL': return counter(Math.floor(random() * 1e12), (r) => Math.round(7.5e11 + jitter(r, 7.5e10)));
  }
}

/** node_cpu_seconds_total in hundredths of a second: each mode's share of 15 s at the node's load. */
function realisticCpu(mode: (typeof CPU_MODES)[number], utilisation: number, random: () => number): Step {
  const start = Math.floor(random() * 1e7) / 100;
  switch (mode) {
    case 'user': return counter(start, (r) => (1500 * utilisation * 0.88 + jitter(r, 25)) / 100, 2);
    case 'system': return counter(start, (r) => (1500 * utilisation * 0.1 + jitter(r, 8)) / 100, 2);
    case 'idle': return counter(start, (r) => (1500 * (1 - utilisation * 0.98) + jitter(r, 20)) / 100, 2);
    case 'iowait': return counter(start, (r) => Math.floor(r() * 4) / 100, 2);
    case 'irq': return counter(start, (r) => (r() < 0.1 ? 0.01 : 0), 2);
    case 'softirq': return counter(start, (r) => Math.floor(r() * 3) / 100, 2);
    case 'nice':
    case 'steal': return constant(start);
  }
}

function realisticMisc(i: number, random: () => number): Step {
  const kind = i % 10;
  if (kind < 4) return constant(Math.floor(random() * 1e12)); // sizes, totals, info
  if (kind < 6) return counter(Math.floor(random() * 1e12), (r) => Math.floor(r() * 2e6)); // network/disk bytes
  if (kind < 8) return counter(Math.floor(random() * 1e8), (r) => Math.floor(r() * 200)); // operations, packets
  if (kind === 8) return drift(Math.floor(random() * 1e6), 0.5, 0, 2e6); // memory pages available
  return reading(24 + random() * 8, 1, 2); // load averages
}

function noisy(kind: number, random: () => number): Step {
  let value = Math.floor(random() * 1e6) / 100;
  switch (kind % 4) {
    case 0: return (r) => (value = round(value + r() * 15, 2));
    case 1: return (r) => (r() < 0.3 ? (value = Math.max(0, value + Math.floor(r() * 5) - 2)) : value);
    case 2: return (r) => (value = round(Math.max(0, value + (r() - 0.5) * 10), 3));
    default: return (r) => (r() < 0.5 ? (value = Math.min(100, Math.max(0, Math.floor(value % 100) + Math.floor(r() * 11) - 5))) : value);
  }
}

/** The first `count` series of the workload, nodes in order. */
export function buildWorkload(count: number, model: WorkloadModel, random: () => number): WorkloadSeries[] {
  const out: WorkloadSeries[] = [];
  for (let node = 0; out.length < count; node++) {
    const hostname = `gpu-node-${String(node).padStart(4, '0')}`;
    const utilisation = 0.85 + random() * 0.13;
    let kind = 0;
    for (let gpu = 0; gpu < 8; gpu++) {
      for (const field of DCGM_FIELDS) {
        const labels = { __name__: field, gpu: String(gpu), UUID: `GPU-${node.toString(16)}-${gpu}`, device: `nvidia${gpu}`, modelName: 'NVIDIA H100 80GB HBM3', Hostname: hostname, job: 'dcgm', instance: `${hostname}:9400` };
        out.push({ labels, step: model === 'noisy' ? noisy(COUNTER_FIELDS.has(field) ? 0 : kind++, random) : realisticDcgm(field, random) });
      }
    }
    for (let cpu = 0; cpu < 48; cpu++) {
      for (const mode of CPU_MODES) {
        out.push({ labels: { __name__: 'node_cpu_seconds_total', cpu: String(cpu), mode, job: 'node', instance: `${hostname}:9100` }, step: model === 'noisy' ? noisy(0, random) : realisticCpu(mode, utilisation, random) });
      }
    }
    for (let i = 0; i < 100; i++) {
      out.push({ labels: { __name__: `node_misc_metric_${i % 25}`, device: `dev${i >> 2}`, job: 'node', instance: `${hostname}:9100` }, step: model === 'noisy' ? noisy(i, random) : realisticMisc(i, random) });
    }
  }
  out.length = Math.min(out.length, count);
  return out;
}
