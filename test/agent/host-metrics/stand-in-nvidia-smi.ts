// A stand-in `nvidia-smi` for machines without GPUs: a python3 script written into a temp dir that
// answers the two query modes the agent uses, in the real tool's csv format (", " separators,
// "[N/A]" / "[Not Supported]" for what a GPU cannot report, hex throttle bitmasks, Yes/No):
//   --query-gpu=<fields> --format=csv,noheader,nounits -lms <ms>   one line per GPU, every <ms>
//   --query-compute-apps=pid,gpu_uuid,used_memory --format=…        lines read from apps.csv
//   dmon -s t -d <s>                                                 PCIe rx/tx MB/s per GPU
// An unknown field is refused as the real one refuses it. The recorded values are an 8×H100 SXM
// node's (no fan, row remapping instead of page retirement, so those read [N/A]).

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StandInGpu {
  uuid: string;
  /** Field name → text as nvidia-smi prints it (nounits). Unlisted fields print the H100 default. */
  fields?: Record<string, string>;
}

export const H100_FIELDS: Record<string, string> = {
  name: 'NVIDIA H100 80GB HBM3',
  'utilization.gpu': '97',
  'utilization.memory': '41',
  'memory.total': '81559',
  'memory.used': '60123',
  'memory.free': '20901',
  'power.draw': '612.34',
  'power.limit': '700.00',
  'temperature.gpu': '64',
  'temperature.memory': '72',
  'clocks.sm': '1980',
  'clocks.mem': '2619',
  'fan.speed': '[N/A]',
  'clocks_throttle_reasons.active': '0x0000000000000000',
  'ecc.errors.uncorrected.volatile.total': '0',
  'ecc.errors.corrected.volatile.total': '0',
  'ecc.errors.uncorrected.aggregate.total': '0',
  'ecc.errors.corrected.aggregate.total': '3',
  'retired_pages.single_bit_ecc.count': '[N/A]',
  'retired_pages.double_bit.count': '[N/A]',
  'retired_pages.pending': '[N/A]',
  'pcie.link.gen.current': '5',
  'pcie.link.width.current': '16',
  // dmon -s t columns (MB/s), not query fields.
  rxpci: '120',
  txpci: '85',
};

const SCRIPT = `#!/usr/bin/env python3
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, 'gpus.json')) as f:
    spec = json.load(f)
args = sys.argv[1:]
if spec.get('fail'):
    print(spec['fail'])
    sys.exit(9)
with open(os.path.join(here, 'calls.log'), 'a') as f:
    f.write(' '.join(args) + '\\n')
query = next((a.split('=', 1)[1] for a in args if a.startswith('--query-gpu=')), None)
apps = next((a for a in args if a.startswith('--query-compute-apps=')), None)
if apps is not None:
    path = os.path.join(here, 'apps.csv')
    if os.path.exists(path):
        sys.stdout.write(open(path).read())
    sys.exit(0)
if args[:1] == ['dmon']:
    if spec.get('no_dmon'):
        print('Failed to process command line.')
        sys.exit(3)
    period = int(args[args.index('-d') + 1]) if '-d' in args else 1
    sys.stdout.write('# gpu  rxpci  txpci \\n# Idx   MB/s   MB/s \\n')
    while True:
        for i, gpu in enumerate(spec['gpus']):
            values = dict(spec['defaults'])
            values.update(gpu.get('fields', {}))
            sys.stdout.write('%5d %6s %6s \\n' % (i, values['rxpci'], values['txpci']))
        sys.stdout.flush()
        time.sleep(period)
if query is None:
    print('stand-in nvidia-smi: only query modes and dmon -s t are recorded')
    sys.exit(2)
fields = query.split(',')
for field in fields:
    if field in spec['unknown'] or (field not in spec['defaults'] and field not in ('index', 'uuid', 'pci.bus_id')):
        print('Field "%s" is not a valid field to query.' % field)
        sys.exit(2)
period = int(args[args.index('-lms') + 1]) / 1000.0 if '-lms' in args else None
def line(i, gpu):
    values = dict(spec['defaults'])
    values.update(gpu.get('fields', {}))
    values['index'] = str(i)
    values['uuid'] = gpu['uuid']
    values['pci.bus_id'] = '00000000:%02X:00.0' % (0x18 + i)
    return ', '.join(values[f] for f in fields)
while True:
    for i, gpu in enumerate(spec['gpus']):
        sys.stdout.write(line(i, gpu) + '\\n')
    sys.stdout.flush()
    if period is None:
        break
    time.sleep(period)
`;

export interface StandInOptions {
  gpus: StandInGpu[];
  /** Fields this "driver" does not know (an older one). */
  unknownFields?: string[];
  /** Print this and exit 9 for every call, as nvidia-smi does without a driver. */
  fail?: string;
  /** Refuse `dmon` (an old GPU or driver). */
  noDmon?: boolean;
}

/** Writes `nvidia-smi` into `binDir`; returns its path. Re-calling rewrites the recorded data. */
export function writeStandInNvidiaSmi(binDir: string, options: StandInOptions): string {
  mkdirSync(binDir, { recursive: true });
  const path = join(binDir, 'nvidia-smi');
  writeFileSync(path, SCRIPT);
  chmodSync(path, 0o755);
  writeFileSync(join(binDir, 'gpus.json'), JSON.stringify({ gpus: options.gpus, defaults: H100_FIELDS, unknown: options.unknownFields ?? [], fail: options.fail ?? null, no_dmon: options.noDmon === true }));
  return path;
}

/** What `--query-compute-apps=pid,gpu_uuid,used_memory` prints next (pid, GPU uuid, MiB). */
export function writeComputeApps(binDir: string, apps: { pid: number; gpuUuid: string; usedMemoryMiB: number }[]): void {
  writeFileSync(join(binDir, 'apps.csv'), apps.map((app) => `${app.pid}, ${app.gpuUuid}, ${app.usedMemoryMiB}\n`).join(''));
}
