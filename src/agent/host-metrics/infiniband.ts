// InfiniBand (and RoCE) port counters and state from /sys/class/infiniband/<device>/ports/<port>/,
// named as node_exporter's infiniband collector names them. port_rcv_data and port_xmit_data count
// 32-bit words ("octets divided by 4" in the IBA spec), hence the ×4 to bytes.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeValue } from './node-proc.ts';

const WORDS_TO_BYTES = 4;

const COUNTERS: readonly { file: string; name: string; scale: number }[] = [
  { file: 'port_rcv_data', name: 'node_infiniband_port_data_received_bytes_total', scale: WORDS_TO_BYTES },
  { file: 'port_xmit_data', name: 'node_infiniband_port_data_transmitted_bytes_total', scale: WORDS_TO_BYTES },
  { file: 'port_rcv_packets', name: 'node_infiniband_port_packets_received_total', scale: 1 },
  { file: 'port_xmit_packets', name: 'node_infiniband_port_packets_transmitted_total', scale: 1 },
  { file: 'port_rcv_errors', name: 'node_infiniband_port_errors_received_total', scale: 1 },
  { file: 'port_xmit_discards', name: 'node_infiniband_port_transmit_discards_total', scale: 1 },
  { file: 'symbol_error', name: 'node_infiniband_symbol_error_total', scale: 1 },
  { file: 'link_downed', name: 'node_infiniband_link_downed_total', scale: 1 },
  { file: 'link_error_recovery', name: 'node_infiniband_link_error_recovery_total', scale: 1 },
];

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function list(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** "4: ACTIVE" → 4; "5: LinkUp" → 5. */
function leadingNumber(text: string | undefined): number | undefined {
  const match = text === undefined ? null : /^(\d+)/.exec(text);
  return match === null ? undefined : Number(match[1]);
}

/** "100 Gb/sec (4X EDR)" → 12.5e9 bytes per second. */
function rateBytesPerSecond(text: string | undefined): number | undefined {
  const match = text === undefined ? null : /^([\d.]+)\s*Gb\/sec/.exec(text);
  return match === null ? undefined : (Number(match[1]) * 1e9) / 8;
}

/** Every port of every device under `sysRoot`/class/infiniband; none when the directory is absent. */
export function readInfiniband(sysRoot: string): NodeValue[] {
  const values: NodeValue[] = [];
  const classDir = join(sysRoot, 'class', 'infiniband');
  for (const device of list(classDir)) {
    const portsDir = join(classDir, device, 'ports');
    for (const port of list(portsDir)) {
      const portDir = join(portsDir, port);
      const labels = { device, port };
      for (const counter of COUNTERS) {
        const value = Number(readText(join(portDir, 'counters', counter.file)) ?? Number.NaN);
        if (Number.isFinite(value)) values.push({ name: counter.name, labels, value: value * counter.scale });
      }
      const state = leadingNumber(readText(join(portDir, 'state')));
      if (state !== undefined) values.push({ name: 'node_infiniband_state_id', labels, value: state });
      const physicalState = leadingNumber(readText(join(portDir, 'phys_state')));
      if (physicalState !== undefined) values.push({ name: 'node_infiniband_physical_state_id', labels, value: physicalState });
      const rate = rateBytesPerSecond(readText(join(portDir, 'rate')));
      if (rate !== undefined) values.push({ name: 'node_infiniband_rate_bytes_per_second', labels, value: rate });
    }
  }
  return values;
}
