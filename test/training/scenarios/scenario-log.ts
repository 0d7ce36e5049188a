// The streams of one simulated multi-node run, as the agent or `rankscope run` would push them.
// Ranks' lines are written in real (true) time and stamped with their node's skewed clock; the label
// scheme decides where a line goes: a stream per rank with a `rank` label, one stream per node with
// torchrun's `[defaultN]:` --tee prefixes, per-rank files (`rank-3.log`), or Slurm's task labels.

export type LabelScheme = 'wrapper' | 'tee' | 'files' | 'slurm';

export interface Topology {
  nodes: number;
  processesPerNode: number;
  hosts: string[];
  /** Clock offset of each node's stamps, ms (true time + skew = stamp). */
  skewMs: number[];
  /** Process id of each global rank. */
  pids: number[];
  /** The run id label's value. */
  runId: string;
  scheme: LabelScheme;
}

export interface GroundTruth {
  status: 'finished' | 'failed' | 'hung';
  rank: number | null;
  class: string | null;
  hungRanks: number[];
}

export interface Scenario {
  name: string;
  topology: Topology;
  truth: GroundTruth;
  streams: Array<{ labels: Record<string, string>; entries: Array<[bigint, string]> }>;
}

export class ScenarioLog {
  readonly topology: Topology;
  private readonly streams = new Map<string, { labels: Record<string, string>; entries: Array<[bigint, string]> }>();
  private readonly baseMs: number;

  constructor(topology: Topology, baseMs: number) {
    this.topology = topology;
    this.baseMs = baseMs;
  }

  get worldSize(): number {
    return this.topology.nodes * this.topology.processesPerNode;
  }

  nodeOf(rank: number): number {
    return Math.floor(rank / this.topology.processesPerNode);
  }

  localOf(rank: number): number {
    return rank % this.topology.processesPerNode;
  }

  hostOf(rank: number): string {
    return this.topology.hosts[this.nodeOf(rank)]!;
  }

  private runLabels(): Record<string, string> {
    const { runId, scheme } = this.topology;
    if (scheme === 'wrapper') return { run_id: runId, job: 'train' };
    if (scheme === 'tee') return { torchelastic_run_id: runId, job: 'train' };
    if (scheme === 'slurm') return { slurm_job_id: runId };
    return { job: runId };
  }

  private add(labels: Record<string, string>, stampMs: number, line: string): void {
    const key = JSON.stringify(labels);
    let stream = this.streams.get(key);
    if (stream === undefined) {
      stream = { labels, entries: [] };
      this.streams.set(key, stream);
    }
    stream.entries.push([BigInt(Math.round((this.baseMs + stampMs) * 1000)) * 1000n, line]);
  }

  private stamp(node: number, trueMs: number): number {
    return trueMs + this.topology.skewMs[node]!;
  }

  /** A line printed by a rank at true time `trueMs` (ms since the run began). */
  rank(rank: number, trueMs: number, line: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    const node = this.nodeOf(rank);
    const host = this.hostOf(rank);
    const stamp = this.stamp(node, trueMs);
    const base = this.runLabels();
    switch (this.topology.scheme) {
      case 'wrapper':
        this.add({ ...base, host, node_rank: String(node), rank: String(rank), world_size: String(this.worldSize), stream }, stamp, line);
        return;
      case 'tee':
        this.add({ ...base, host, node_rank: String(node) }, stamp, `[default${this.localOf(rank)}]:${line}`);
        return;
      case 'files':
        this.add({ ...base, host, filename: `/var/log/train/${this.topology.runId}/rank-${rank}.log` }, stamp, line);
        return;
      case 'slurm':
        this.add({ ...base, host, rank: String(rank) }, stamp, line);
        return;
    }
  }

  /** A line of the node's launcher (torchrun agent). */
  launcher(node: number, trueMs: number, line: string): void {
    const host = this.topology.hosts[node]!;
    const labels = this.topology.scheme === 'files' ? { ...this.runLabels(), host, filename: `/var/log/train/${this.topology.runId}/launcher.log` } : { ...this.runLabels(), host, node_rank: String(node), stream: 'stderr' };
    this.add(labels, this.stamp(node, trueMs), line);
  }

  /** A kernel log line of a node (dmesg / journald, collected with the run's label). */
  kernel(node: number, trueMs: number, line: string): void {
    this.add({ ...this.runLabels(), host: this.topology.hosts[node]!, source: 'kernel' }, this.stamp(node, trueMs), line);
  }

  /** A line of the scheduler (slurmstepd / srun on the batch host). */
  scheduler(trueMs: number, line: string): void {
    this.add({ ...this.runLabels(), host: this.topology.hosts[0]!, source: 'slurm' }, this.stamp(0, trueMs), line);
  }

  /** `rankscope run`'s final entry for a rank (only where each rank is wrapped). */
  wrapperExit(rank: number, trueMs: number, exitCode: number | null, signal?: string): void {
    if (this.topology.scheme !== 'wrapper') return;
    const node = this.nodeOf(rank);
    const text = signal !== undefined ? `rankscope run: command python was killed by signal ${signal} (${signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 6})` : `rankscope run: command python exited with code ${exitCode}`;
    this.add({ ...this.runLabels(), host: this.hostOf(rank), node_rank: String(node), rank: String(rank), world_size: String(this.worldSize), stream: 'rankscope' }, this.stamp(node, trueMs), text);
  }

  build(name: string, truth: GroundTruth): Scenario {
    return { name, topology: this.topology, truth, streams: [...this.streams.values()] };
  }
}
