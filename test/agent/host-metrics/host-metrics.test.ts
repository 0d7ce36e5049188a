// The agent's GPU and node collection end to end: a stand-in nvidia-smi on PATH (spawned exactly as
// the real one would be), a fixture /proc and /sys, a real rankscope server receiving remote write,
// and the result read back through the Prometheus query API.

import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, test } from 'node:test';
import { startAgent } from '../../../src/agent/agent.ts';
import { agentConfigSchema } from '../../../src/agent/config.ts';
import { startTestServer, waitFor, type TestServer } from '../../server/test-server.ts';
import { IB_COUNTERS, writeNodeFixture, writeProcess } from './node-fixture.ts';
import { writeComputeApps, writeStandInNvidiaSmi } from './stand-in-nvidia-smi.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.dispose();
});

const GPU0 = 'GPU-5a3b1c2d-0000-4e5f-8a9b-000000000000';
const GPU1 = 'GPU-5a3b1c2d-1111-4e5f-8a9b-111111111111';

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function instant(query: string): Promise<VectorSample[]> {
  const response = await fetch(`${server.url}/api/v1/query?${new URLSearchParams({ query })}`);
  const body = (await response.json()) as { status: string; data?: { result: VectorSample[] }; error?: string };
  assert.equal(response.status, 200, `${query}: ${body.error}`);
  return body.data!.result;
}

/** Polls until `query` returns exactly `count` series. */
function waitForSeries(query: string, count = 1, timeoutMs = 15_000): Promise<VectorSample[]> {
  return waitFor(
    async () => {
      const result = await instant(query);
      return result.length === count ? result : undefined;
    },
    timeoutMs,
    `${count} series for ${query}`,
  );
}

function configFor(dir: string, metrics: Record<string, unknown>) {
  return agentConfigSchema.parse({
    server: { url: server.url },
    retry: { min_backoff_ms: 50, max_backoff_ms: 200 },
    queue: { dir: join(dir, 'queue') },
    positions: { file: join(dir, 'positions.json') },
    labels: { host: 'gpu-node-7', cluster: 'test' },
    sources: [{ name: 'none', type: 'file', paths: [join(dir, 'no-logs', '*.log')] }],
    metrics: { enabled: true, interval: '200ms', ...metrics },
  });
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-host-metrics-'));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('two GPUs used by two ranks: every GPU series carries DCGM names, dcgm-exporter labels and the run_id and rank of the process using it', async () => {
  await withDir(async (dir) => {
    const binDir = join(dir, 'bin');
    writeStandInNvidiaSmi(binDir, {
      gpus: [
        { uuid: GPU0 },
        // GPU 1 is held at its power cap, and idle-ish: the dashboard must tell them apart by rank.
        { uuid: GPU1, fields: { 'utilization.gpu': '3', 'clocks_throttle_reasons.active': '0x0000000000000004', 'ecc.errors.uncorrected.volatile.total': '2' } },
      ],
    });
    const { procRoot, sysRoot } = writeNodeFixture(dir);
    writeProcess(procRoot, 4242, { PATH: '/usr/bin', RANKSCOPE_RUN_ID: 'llm-run-17', RANK: '5', LOCAL_RANK: '0', WORLD_SIZE: '16' });
    writeProcess(procRoot, 4343, { RANKSCOPE_RUN_ID: 'llm-run-17', RANK: '6', LOCAL_RANK: '1', WORLD_SIZE: '16' });
    // A process of nobody's run on GPU 1 (a monitoring tool) must not take the attribution away.
    writeProcess(procRoot, 5000, { HOME: '/root' });
    writeComputeApps(binDir, [
      { pid: 4242, gpuUuid: GPU0, usedMemoryMiB: 60000 },
      { pid: 5000, gpuUuid: GPU1, usedMemoryMiB: 500 },
      { pid: 4343, gpuUuid: GPU1, usedMemoryMiB: 59000 },
    ]);
    const savedPath = process.env.PATH;
    process.env.PATH = `${binDir}${delimiter}${savedPath}`;
    const logs: string[] = [];
    const agent = await startAgent(configFor(dir, { proc_root: procRoot, sys_root: sysRoot }), { log: (message) => logs.push(message) });
    try {
      const [rank5] = await waitForSeries('DCGM_FI_DEV_GPU_UTIL{run_id="llm-run-17", rank="5"}');
      assert.deepEqual(rank5!.metric, {
        __name__: 'DCGM_FI_DEV_GPU_UTIL',
        gpu: '0',
        UUID: GPU0,
        uuid: GPU0,
        device: 'nvidia0',
        modelName: 'NVIDIA H100 80GB HBM3',
        pci_bus_id: '00000000:18:00.0',
        Hostname: 'gpu-node-7',
        host: 'gpu-node-7',
        cluster: 'test',
        run_id: 'llm-run-17',
        rank: '5',
        local_rank: '0',
      });
      assert.equal(rank5!.value[1], '97');
      const [rank6] = await waitForSeries('DCGM_FI_DEV_GPU_UTIL{run_id="llm-run-17", rank="6"}');
      assert.equal(rank6!.metric.gpu, '1');
      assert.equal(rank6!.value[1], '3');

      // Series sent before the first compute-apps answer (unattributed) were ended by staleness
      // markers: the node's live GPU series are exactly the two attributed ones.
      const live = await waitForSeries('DCGM_FI_DEV_GPU_UTIL{host="gpu-node-7"}', 2);
      assert.deepEqual(live.map((series) => series.metric.rank).sort(), ['5', '6']);

      // Units as DCGM reports them, one series per GPU of the run.
      const table: [string, string, string][] = [
        ['DCGM_FI_DEV_FB_USED', '5', '60123'],
        ['DCGM_FI_DEV_FB_FREE', '5', '20901'],
        ['DCGM_FI_DEV_POWER_USAGE', '5', '612.34'],
        ['DCGM_FI_DEV_GPU_TEMP', '5', '64'],
        ['DCGM_FI_DEV_SM_CLOCK', '5', '1980'],
        ['DCGM_FI_DEV_MEM_CLOCK', '5', '2619'],
        ['DCGM_FI_DEV_PCIE_LINK_GEN', '5', '5'],
        // From the second long-lived stream, dmon -s t: MB/s → KB/s.
        ['DCGM_FI_DEV_PCIE_RX_THROUGHPUT', '5', String(120 * 1024)],
        ['DCGM_FI_DEV_PCIE_TX_THROUGHPUT', '6', String(85 * 1024)],
        ['DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', '6', '2'],
        ['DCGM_FI_DEV_CLOCK_THROTTLE_REASONS', '6', '4'],
      ];
      for (const [metric, rank, value] of table) {
        const [series] = await waitForSeries(`${metric}{run_id="llm-run-17", rank="${rank}"}`);
        assert.equal(series!.value[1], value, metric);
      }
      const capped = await waitForSeries('rankscope_gpu_clock_throttle_reason_active{rank="6"} == 1');
      assert.deepEqual(capped.map((series) => series.metric.reason), ['sw_power_cap']);
      // "[N/A]" fields are absent, not zero.
      assert.deepEqual(await instant('DCGM_FI_DEV_FAN_SPEED'), []);
      assert.deepEqual(await instant('DCGM_FI_DEV_RETIRED_DBE'), []);

      // Node metrics from the fixture tree, node_exporter's names.
      const [available] = await waitForSeries('node_memory_MemAvailable_bytes{host="gpu-node-7"}');
      assert.equal(Number(available!.value[1]), 1_800_000_000 * 1024);
      const [received] = await waitForSeries('node_infiniband_port_data_received_bytes_total{device="mlx5_0", port="1"}');
      assert.equal(Number(received!.value[1]), Number(IB_COUNTERS.port_rcv_data) * 4);

      // One long-lived stream, not a fork per sample; compute-apps is the periodic call.
      const calls = readFileSync(join(binDir, 'calls.log'), 'utf8').trim().split('\n');
      const streams = calls.filter((call) => call.startsWith('--query-gpu='));
      assert.equal(streams.length, 1, `nvidia-smi streams started: ${streams.length}`);
      assert.deepEqual(calls.filter((call) => call.startsWith('dmon')), ['dmon -s t -d 1']);
      assert.match(streams[0]!, / --format=csv,noheader,nounits -lms 200$/);
      assert.ok(calls.some((call) => call.startsWith('--query-compute-apps=pid,gpu_uuid,used_memory')));
      assert.equal(agent.hostMetrics!.gpu!.state, 'running');
      assert.deepEqual(logs, []);
      assert.ok(agent.metrics.value('rankscope_agent_metrics_sent_samples_total') > 0);
    } finally {
      await agent.stop(2000);
      process.env.PATH = savedPath;
    }
  });
});

const NO_GPU_CASES: { name: string; setUp: (binDir: string) => string; expected: RegExp }[] = [
  { name: 'nvidia-smi is not installed', setUp: (binDir) => join(binDir, 'nvidia-smi'), expected: /no GPU metrics on this machine: .*nvidia-smi cannot be started: .*ENOENT/ },
  {
    name: 'nvidia-smi fails (no driver)',
    setUp: (binDir) =>
      writeStandInNvidiaSmi(binDir, {
        gpus: [],
        fail: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
      }),
    expected: /no GPU metrics on this machine: .*nvidia-smi failed: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.* \(exit 9\)/,
  },
];

for (const { name, setUp, expected } of NO_GPU_CASES) {
  test(`no GPU (${name}): the agent says so once and still ships node metrics`, async () => {
    await withDir(async (dir) => {
      const nvidiaSmiPath = setUp(join(dir, 'bin'));
      const { procRoot, sysRoot } = writeNodeFixture(dir);
      const host = `no-gpu-${name.replace(/\W+/g, '-')}`;
      const config = configFor(dir, { proc_root: procRoot, sys_root: sysRoot, nvidia_smi_path: nvidiaSmiPath });
      config.labels.host = host;
      const logs: string[] = [];
      const agent = await startAgent(config, { log: (message) => logs.push(message) });
      try {
        await waitFor(async () => (agent.hostMetrics!.gpu!.state === 'no_gpu' ? true : undefined), 10_000, 'the GPU collector to give up');
        const [cpu] = await waitForSeries(`node_cpu_seconds_total{host="${host}", cpu="1", mode="steal"}`);
        assert.equal(Number(cpu!.value[1]), 0.07);
        // Further collection rounds go by without another word about the GPU.
        const sent = (): number => agent.metrics.value('rankscope_agent_metrics_sent_samples_total');
        const firstRound = await waitFor(async () => (sent() > 0 ? sent() : undefined), 10_000, 'a first round sent');
        await waitFor(async () => (sent() >= firstRound * 3 ? true : undefined), 10_000, 'two more collection rounds');
        const gpuLines = logs.filter((line) => /GPU/.test(line));
        assert.equal(gpuLines.length, 1, logs.join('\n'));
        assert.match(gpuLines[0]!, expected);
        assert.equal(agent.metrics.value('rankscope_agent_gpu_collection_up'), 0);
        assert.deepEqual(await instant(`DCGM_FI_DEV_GPU_UTIL{host="${host}"}`), []);
      } finally {
        await agent.stop(2000);
      }
    });
  });
}
