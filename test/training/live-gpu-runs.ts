// Live training runs fed to a real server as they would arrive: every tick each rank that still logs
// pushes a step line (Loki push API), and each rank's GPU pushes DCGM_FI_DEV_GPU_UTIL with its run_id
// and rank (remote_write, the labels the agent's attribution gives). Used by the GPU-verdict and
// GPU-rule tests, which wait on what the server reports, not on the tick.

import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../../src/push/remote-write-encode.ts';

export interface SimulatedRank {
  rank: number;
  /** The rank logs a step line this tick (false once it has hung). */
  logging(tick: number): boolean;
  /** What its GPU reads this tick, in %. */
  gpuPercent(tick: number): number;
}

export interface SimulatedRun {
  id: string;
  ranks: SimulatedRank[];
}

export interface LiveRuns {
  /** Ticks done so far. */
  ticks(): number;
  /** Stops the feed and rethrows the first push the server refused. */
  stop(): Promise<void>;
}

/** The step line every simulated rank prints (the history a test seeds uses it too, so curves join). */
export function stepLine(step: number): string {
  return `step ${step} loss ${(3.2 - step * 0.004).toFixed(3)} lr 3.0e-4 tokens/s 41250`;
}

/** A rank that logs for `hangAfterTicks` ticks (forever when undefined) with its GPU at `percent`. */
export function rank(rankNumber: number, percent: number, hangAfterTicks?: number): SimulatedRank {
  return { rank: rankNumber, logging: (tick) => hangAfterTicks === undefined || tick < hangAfterTicks, gpuPercent: () => percent };
}

async function checked(response: Promise<Response>, what: string): Promise<void> {
  const answer = await response;
  if (answer.status !== 204 && answer.status !== 200) throw new Error(`${what}: HTTP ${answer.status} ${await answer.text()}`);
}

/** `firstStep`: the step the first tick prints (after a seeded history). */
export function startLiveRuns(serverUrl: string, runs: SimulatedRun[], tickMs = 250, firstStep = 1): LiveRuns {
  let tick = 0;
  let stopped = false;
  let failure: Error | undefined;
  const loop = (async () => {
    while (!stopped && failure === undefined) {
      const nowMs = Date.now();
      const streams = [];
      const series: RemoteWriteSeriesInput[] = [];
      for (const run of runs) {
        for (const simulated of run.ranks) {
          const labels = { run_id: run.id, rank: String(simulated.rank), host: `gpu-node-${Math.floor(simulated.rank / 8)}` };
          if (simulated.logging(tick)) streams.push({ stream: labels, values: [[String(BigInt(nowMs) * 1_000_000n), stepLine(firstStep + tick)]] });
          series.push({
            labels: { __name__: 'DCGM_FI_DEV_GPU_UTIL', ...labels, gpu: String(simulated.rank % 8), uuid: `GPU-${run.id}-${simulated.rank}`, Hostname: labels.host },
            samples: [{ timestampMs: nowMs, value: simulated.gpuPercent(tick) }],
          });
        }
      }
      try {
        if (streams.length > 0) await checked(fetch(`${serverUrl}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ streams }) }), 'log push');
        await checked(
          fetch(`${serverUrl}/api/v1/write`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
            body: snappyCompress(encodeWriteRequestV1(series)),
          }),
          'remote write',
        );
      } catch (error) {
        failure = error as Error;
      }
      tick++;
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
  })();
  return {
    ticks: () => tick,
    async stop() {
      stopped = true;
      await loop;
      if (failure !== undefined) throw failure;
    },
  };
}
