// Node metrics from /proc, named as node_exporter names them so its dashboards and rules apply:
// CPU seconds by mode (/proc/stat), memory (/proc/meminfo), load (/proc/loadavg), disk bytes and
// operations (/proc/diskstats) and network bytes, packets and errors (/proc/net/dev). Each parser
// takes the file's text and returns samples without timestamps; reading files is the collector's job.

/** A sample before it is stamped: metric name, labels beside __name__, value. */
export interface NodeValue {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Linux reports /proc/stat in USER_HZ, which is 100 on every architecture glibc supports. */
const USER_HZ = 100;
const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;
/** /proc/diskstats counts 512-byte sectors whatever the device's sector size. */
const DISKSTATS_SECTOR_BYTES = 512;
/** node_exporter's default device exclusion: partitions, ram and loop devices double count. */
const IGNORED_DISKS = /^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$/;
const MEMINFO_FIELDS = ['MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'SwapTotal', 'SwapFree', 'Dirty'];

export function parseProcStat(text: string): NodeValue[] {
  const values: NodeValue[] = [];
  for (const line of text.split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (match === null) continue;
    const ticks = match[2]!.trim().split(/\s+/).map(Number);
    CPU_MODES.forEach((mode, position) => {
      const tick = ticks[position];
      if (tick !== undefined && Number.isFinite(tick)) values.push({ name: 'node_cpu_seconds_total', labels: { cpu: match[1]!, mode }, value: tick / USER_HZ });
    });
  }
  return values;
}

export function parseMeminfo(text: string): NodeValue[] {
  const values: NodeValue[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s+(\d+)(?:\s+kB)?$/.exec(line.trim());
    if (match === null || !MEMINFO_FIELDS.includes(match[1]!)) continue;
    const bytes = Number(match[2]) * (line.includes('kB') ? 1024 : 1);
    values.push({ name: `node_memory_${match[1]}_bytes`, labels: {}, value: bytes });
  }
  return values;
}

export function parseLoadavg(text: string): NodeValue[] {
  const [one, five, fifteen] = text.trim().split(/\s+/).map(Number);
  const values: NodeValue[] = [];
  for (const [name, value] of [['node_load1', one], ['node_load5', five], ['node_load15', fifteen]] as const) {
    if (value !== undefined && Number.isFinite(value)) values.push({ name, labels: {}, value });
  }
  return values;
}

export function parseDiskstats(text: string): NodeValue[] {
  const values: NodeValue[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 14) continue;
    const device = parts[2]!;
    if (IGNORED_DISKS.test(device)) continue;
    const field = (position: number): number => Number(parts[position]);
    const labels = { device };
    values.push(
      { name: 'node_disk_reads_completed_total', labels, value: field(3) },
      { name: 'node_disk_read_bytes_total', labels, value: field(5) * DISKSTATS_SECTOR_BYTES },
      { name: 'node_disk_read_time_seconds_total', labels, value: field(6) / 1000 },
      { name: 'node_disk_writes_completed_total', labels, value: field(7) },
      { name: 'node_disk_written_bytes_total', labels, value: field(9) * DISKSTATS_SECTOR_BYTES },
      { name: 'node_disk_write_time_seconds_total', labels, value: field(10) / 1000 },
      { name: 'node_disk_io_time_seconds_total', labels, value: field(12) / 1000 },
    );
  }
  return values.filter((value) => Number.isFinite(value.value));
}

/** Receive columns then transmit columns of /proc/net/dev, as node_exporter names them. */
const NET_DEV_COLUMNS: readonly (string | undefined)[] = [
  'node_network_receive_bytes_total',
  'node_network_receive_packets_total',
  'node_network_receive_errs_total',
  'node_network_receive_drop_total',
  undefined,
  undefined,
  undefined,
  undefined,
  'node_network_transmit_bytes_total',
  'node_network_transmit_packets_total',
  'node_network_transmit_errs_total',
  'node_network_transmit_drop_total',
];

export function parseNetDev(text: string): NodeValue[] {
  const values: NodeValue[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const device = line.slice(0, colon).trim();
    const numbers = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (device === '' || numbers.length < 16 || numbers.some((number) => !Number.isFinite(number))) continue;
    NET_DEV_COLUMNS.forEach((name, position) => {
      if (name !== undefined) values.push({ name, labels: { device }, value: numbers[position]! });
    });
  }
  return values;
}
