// A fixture /proc and /sys tree in the kernel's formats: two CPUs, meminfo, loadavg, diskstats with
// a disk, a partition and a loop device, net/dev with lo and an Ethernet port, and one InfiniBand
// HCA port with counters and state. Processes are <pid>/environ files, NUL-separated.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PROC_STAT = `cpu  4705 356 584 3699 23 23 0 0 0 0
cpu0 2400 200 300 1800 10 12 0 0 0 0
cpu1 2305 156 284 1899 13 11 0 7 0 0
intr 114930548 113199788 3 0 5 263 0 4 [... lots more numbers ...]
ctxt 1990473
btime 1062191376
processes 2915
procs_running 1
procs_blocked 0
`;

export const MEMINFO = `MemTotal:       2113417216 kB
MemFree:        1500000000 kB
MemAvailable:   1800000000 kB
Buffers:           12345 kB
Cached:         200000000 kB
SwapCached:            0 kB
SwapTotal:             0 kB
SwapFree:              0 kB
Dirty:               160 kB
HugePages_Total:       0
`;

export const DISKSTATS = `   7       0 loop0 10 0 20 5 0 0 0 0 0 4 5 0 0 0 0
 259       0 nvme0n1 193740 1244 20586066 48381 6028449 2419560 476123976 4203380 0 3456789 4312860 0 0 0 0
 259       1 nvme0n1p1 193000 1244 20500000 48000 6000000 2419000 476000000 4200000 0 3400000 4300000 0 0 0 0
`;

export const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 5000000   50000    0    0    0     0          0         0  5000000   50000    0    0    0     0       0          0
  eth0: 987654321 1234567 2 3 0 0 0 0 123456789 765432 1 4 0 0 0 0
`;

/** The InfiniBand port's counters (port_*_data in 4-byte words). */
export const IB_COUNTERS: Record<string, string> = {
  port_rcv_data: '2500000000',
  port_xmit_data: '2400000000',
  port_rcv_packets: '40000000',
  port_xmit_packets: '39000000',
  port_rcv_errors: '2',
  port_xmit_discards: '0',
  symbol_error: '7',
  link_downed: '1',
  link_error_recovery: '0',
};

export function writeNodeFixture(root: string): { procRoot: string; sysRoot: string } {
  const procRoot = join(root, 'proc');
  const sysRoot = join(root, 'sys');
  mkdirSync(join(procRoot, 'net'), { recursive: true });
  writeFileSync(join(procRoot, 'stat'), PROC_STAT);
  writeFileSync(join(procRoot, 'meminfo'), MEMINFO);
  writeFileSync(join(procRoot, 'loadavg'), '12.50 11.25 10.00 3/1200 4242\n');
  writeFileSync(join(procRoot, 'diskstats'), DISKSTATS);
  writeFileSync(join(procRoot, 'net', 'dev'), NET_DEV);
  const port = join(sysRoot, 'class', 'infiniband', 'mlx5_0', 'ports', '1');
  mkdirSync(join(port, 'counters'), { recursive: true });
  for (const [name, value] of Object.entries(IB_COUNTERS)) writeFileSync(join(port, 'counters', name), `${value}\n`);
  writeFileSync(join(port, 'state'), '4: ACTIVE\n');
  writeFileSync(join(port, 'phys_state'), '5: LinkUp\n');
  writeFileSync(join(port, 'rate'), '400 Gb/sec (4X NDR)\n');
  return { procRoot, sysRoot };
}

/** A process under the fixture's /proc whose environment is `env`. */
export function writeProcess(procRoot: string, pid: number, env: Record<string, string>): void {
  mkdirSync(join(procRoot, String(pid)), { recursive: true });
  writeFileSync(join(procRoot, String(pid), 'environ'), Object.entries(env).map(([name, value]) => `${name}=${value}\0`).join(''));
}
