// The server's view of training runs: fed by ingest (every accepted push), it keeps each tenant's
// runs (run-state.ts) and answers the runs API with plain objects (times as RFC3339 with
// nanoseconds, ranks as numbers). A periodic check finds live hangs and writes one event entry per
// hung rank into the log store (stream `{rankscope_event="rank_hung", run, rank, host}`), which the
// training rule pack's RankHung rule alerts on; events stop when the run is no longer hung. The same
// check writes `rankscope_training_rank_silent{run_id, rank}` (1 silent, 0 logging) for the ranks of
// live runs into the metrics store, so PromQL rules can join the tracker's view with GPU series
// (rules/training-gpu.yaml); ranks of runs that end get staleness markers.
// After a restart, runs are rebuilt from the log store itself (so nothing acknowledged is lost,
// kill -9 included).

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { rawColumnsOf } from '../push/raw-push-stream.ts';
import type { Labels } from '../push/types.ts';
import type { AppendStream, LogSource } from '../store/types.ts';
import type { TrainingConfig } from './config.ts';
import type { RankActivity } from './gpu-correlation.ts';
import { analyzeRun, type EvidenceLine, type FailureView, type RunVerdict } from './run-analysis.ts';
import { runIdOf, TRAINING_EVENT_LABEL } from './run-identity.ts';
import { RunState } from './run-state.ts';

export interface IngestedStream {
  labels: Labels;
  entries: ReadonlyArray<{ timestampNs: bigint; line: string }>;
}

/** A run with no line for this long after its newest log timestamp arrived late is a replay. */
const REPLAY_LAG_MS = 120_000;
/** A live run is final after at most this long without a new line. */
const LIVE_FINAL_MAX_MS = 30_000;
/** A hung run that has been silent this long is abandoned: its hang events (and so the alert) stop. */
const HANG_EVENTS_MAX_QUIET_MS = 15 * 60_000;
/** Hang events are written at most this often per hung rank. */
const HANG_EVENT_INTERVAL_MS = 15_000;
/** Default and maximum of `?limit=` on the runs list. */
export const RUNS_DEFAULT_LIMIT = 100;
export const RUNS_MAX_LIMIT = 10_000;
/** Default point budget per rank of one series answer. */
export const SERIES_DEFAULT_MAX_POINTS = 5000;
/** Default point budget of an all-ranks answer, shared by the ranks (at least 100 each): 64 ranks × 5000 points would be 6 MB of JSON. */
export const SERIES_DEFAULT_TOTAL_POINTS = 20_000;

export function formatRfc3339Nano(timeNs: bigint): string {
  const ms = timeNs / 1_000_000n;
  const nanos = ((timeNs % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  const fraction = String(nanos).padStart(9, '0').replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction === '' ? '' : `.${fraction}`}Z`;
}

export interface RunSummary {
  id: string;
  status: RunVerdict['status'];
  world_size: number | null;
  nodes: number;
  hosts: string[];
  ranks_seen: number[];
  started_at: string | null;
  last_activity_at: string | null;
  duration_seconds: number | null;
  attempt: number;
  first_failure: { rank: number | null; class: string; time: string; host: string | null; summary: string } | null;
  hung_ranks: number[];
}

type Emit = (tenant: string, streams: AppendStream[]) => Promise<void>;
/** Samples for the metrics store, in the shape its append takes (the tracker does not import it). */
export interface RankStateSeries {
  labels: Labels;
  samples: Array<{ timestampMs: number; value: number; stale?: boolean }>;
}
type EmitSamples = (tenant: string, series: RankStateSeries[]) => Promise<void>;

/** The tracker's rank state as a metric: 1 while a rank of a live run is silent, 0 while it logs. */
export const RANK_SILENT_METRIC = 'rankscope_training_rank_silent';

export class RunTracker {
  private readonly config: TrainingConfig;
  private readonly tenants = new Map<string, Map<string, RunState>>();
  private readonly verdicts = new WeakMap<RunState, { version: number; ended: boolean; verdict: RunVerdict }>();
  private readonly lastEventMs = new Map<string, number>();
  private readonly emit: Emit | undefined;
  private readonly emitSamples: EmitSamples | undefined;
  private readonly log: (message: string) => void;
  /** Per tenant, the rank-state series written by the last check (key → labels), to end them with staleness markers. */
  private readonly rankStateSeries = new Map<string, Map<string, Labels>>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private readonly now: () => number;
  /** Where the tenants with runs are listed, so a restart knows whom to rebuild. */
  private readonly tenantsFile: string | undefined;

  constructor(options: { config: TrainingConfig; emit?: Emit; emitSamples?: EmitSamples; log?: (message: string) => void; now?: () => number; tenantsFile?: string }) {
    this.config = options.config;
    this.emit = options.emit;
    this.emitSamples = options.emitSamples;
    this.log = options.log ?? ((message) => console.error(`rankscope training: ${message}`));
    this.now = options.now ?? Date.now;
    this.tenantsFile = options.tenantsFile;
  }

  /** Tenants listed in the tenants file (empty when there is none yet). */
  savedTenants(): string[] {
    if (this.tenantsFile === undefined) return [];
    let text: string;
    try {
      text = readFileSync(this.tenantsFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || !parsed.every((tenant) => typeof tenant === 'string')) throw new Error(`${this.tenantsFile}: expected a JSON list of tenant names`);
    return parsed as string[];
  }

  private saveTenants(): void {
    if (this.tenantsFile === undefined) return;
    const known = new Set([...this.savedTenants(), ...this.tenants.keys()]);
    mkdirSync(dirname(this.tenantsFile), { recursive: true });
    const temporary = `${this.tenantsFile}.tmp`;
    writeFileSync(temporary, JSON.stringify([...known].sort()));
    renameSync(temporary, this.tenantsFile);
  }

  /** Takes the streams of one accepted push. Cheap: per-line work is prefix, extractor and signature checks. */
  ingest(tenant: string, streams: readonly IngestedStream[], arrivalMs = this.now()): void {
    let runs: Map<string, RunState> | undefined;
    for (const stream of streams) {
      if (stream.labels[TRAINING_EVENT_LABEL] !== undefined) continue;
      const id = runIdOf(stream.labels);
      if (id === undefined) continue;
      runs ??= this.runsOf(tenant);
      let run = runs.get(id);
      if (run === undefined) {
        run = new RunState(tenant, id);
        runs.set(id, run);
      }
      // Reading `entries` of a push decoded into columns would build an object per line.
      const columns = rawColumnsOf(stream);
      run.addEntries(stream.labels, columns === undefined ? stream.entries : [], arrivalMs, columns);
    }
  }

  private runsOf(tenant: string): Map<string, RunState> {
    let runs = this.tenants.get(tenant);
    if (runs === undefined) {
      runs = new Map();
      this.tenants.set(tenant, runs);
      // Once per tenant: before the push is acknowledged, so a restart rebuilds this tenant's runs.
      this.saveTenants();
    }
    return runs;
  }

  /** A run whose newest line arrived long after it was logged: an import, a replay, a late agent. */
  private isReplay(run: RunState): boolean {
    const lastLogMs = run.lastNs === undefined ? 0 : Number(run.lastNs / 1_000_000n);
    return run.lastArrivalMs - lastLogMs > REPLAY_LAG_MS;
  }

  /** Whether the run's log is over: quiet for the finalize period (replays) or its hang threshold (live). */
  private ended(run: RunState, nowMs: number): boolean {
    const quietMs = nowMs - run.lastArrivalMs;
    if (this.isReplay(run)) return quietMs >= this.config.finalize_after;
    // Live: quiet for the run's hang threshold, but never longer than 30 s (the promise of
    // docs/training.md: final at most 30 s after the last line arrived), unless configured so.
    let medianMs = 0;
    for (const rank of run.ranks.values()) medianMs = Math.max(medianMs, rank.medianIntervalMs() ?? 0);
    const thresholdMs = Math.max(this.config.finalize_after, this.config.hang_interval_multiple * medianMs, this.config.hang_floor);
    return quietMs >= Math.min(thresholdMs, Math.max(LIVE_FINAL_MAX_MS, this.config.finalize_after));
  }

  verdict(run: RunState, nowMs = this.now()): RunVerdict {
    const ended = this.ended(run, nowMs);
    if (ended) run.resolvePendingLocal();
    const cached = this.verdicts.get(run);
    if (cached !== undefined && cached.version === run.version && cached.ended === ended) return cached.verdict;
    const verdict = analyzeRun(run, { ended, hangIntervalMultiple: this.config.hang_interval_multiple, hangFloorMs: this.config.hang_floor });
    this.verdicts.set(run, { version: run.version, ended, verdict });
    return verdict;
  }

  /**
   * Each rank as the GPU correlation needs it: silent when hung, or when the whole run is hung and
   * its log has ended (every rank stopped: a deadlock).
   */
  rankActivity(run: RunState, nowMs = this.now()): RankActivity[] {
    const verdict = this.verdict(run, nowMs);
    const allStopped = verdict.status === 'hung' && this.ended(run, nowMs);
    const hung = new Set(verdict.hungRanks);
    return [...run.ranks.values()]
      .filter((rank) => rank.lines > 0)
      .sort((a, b) => a.rank - b.rank)
      .map((rank) => ({ rank: rank.rank, silent: allStopped || hung.has(rank.rank), lastLineMs: Number(rank.lastNs / 1_000_000n), lastLine: rank.lastLine }));
  }

  /** Whether a run is live (not a replay, not abandoned): only live runs alert. */
  isLive(run: RunState, nowMs = this.now()): boolean {
    return nowMs - run.lastArrivalMs <= HANG_EVENTS_MAX_QUIET_MS && !this.isReplay(run);
  }

  run(tenant: string, id: string): RunState | undefined {
    return this.tenants.get(tenant)?.get(id);
  }

  listRuns(tenant: string, options: { status?: string; limit?: number } = {}): RunSummary[] {
    const runs = [...(this.tenants.get(tenant)?.values() ?? [])];
    runs.sort((a, b) => (b.firstNs ?? 0n) > (a.firstNs ?? 0n) ? 1 : (b.firstNs ?? 0n) < (a.firstNs ?? 0n) ? -1 : a.id < b.id ? 1 : -1);
    const limit = Math.min(options.limit ?? RUNS_DEFAULT_LIMIT, RUNS_MAX_LIMIT);
    const out: RunSummary[] = [];
    for (const run of runs) {
      if (out.length >= limit) break;
      const summary = this.summary(run);
      if (options.status !== undefined && summary.status !== options.status) continue;
      out.push(summary);
    }
    return out;
  }

  summary(run: RunState): RunSummary {
    const verdict = this.verdict(run);
    const ranks = [...run.ranks.keys()].sort((a, b) => a - b);
    const nodes = Math.max(run.nodeRanks.size, run.hosts.size);
    return {
      id: run.id,
      status: verdict.status,
      world_size: run.worldSize ?? (ranks.length > 0 ? Math.max(ranks.length, ranks[ranks.length - 1]! + 1) : null),
      nodes,
      hosts: [...run.hosts].sort(),
      ranks_seen: ranks,
      started_at: run.firstNs === undefined ? null : formatRfc3339Nano(run.firstNs),
      last_activity_at: run.lastNs === undefined ? null : formatRfc3339Nano(run.lastNs),
      duration_seconds: run.firstNs === undefined || run.lastNs === undefined ? null : Number(run.lastNs - run.firstNs) / 1e9,
      attempt: run.currentAttempt().number,
      first_failure:
        verdict.first === null
          ? null
          : { rank: verdict.first.rank, class: verdict.first.class, time: formatRfc3339Nano(verdict.first.timeNs), host: verdict.first.host ?? null, summary: verdict.first.summary },
      hung_ranks: verdict.hungRanks,
    };
  }

  /** GET /api/v1/runs/{id}. */
  runDetail(run: RunState): Record<string, unknown> {
    return {
      ...this.summary(run),
      node_ranks: [...run.nodeRanks].sort(),
      attempts: (run.attempts.length === 0 ? [run.currentAttempt()] : run.attempts).map((attempt) => ({ attempt: attempt.number, started_at: formatRfc3339Nano(attempt.startNs) })),
      ranks: [...run.ranks.values()]
        .sort((a, b) => a.rank - b.rank)
        .map((rank) => ({
          rank: rank.rank,
          host: rank.host ?? null,
          node_rank: rank.nodeRank ?? null,
          pid: rank.pid ?? null,
          lines: rank.lines,
          error_lines: rank.errorLines,
          first_at: rank.lines === 0 ? null : formatRfc3339Nano(rank.firstNs),
          last_activity_at: rank.lines === 0 ? null : formatRfc3339Nano(rank.lastNs),
          last_line: rank.lastLine,
          last_step: rank.maxStep ?? null,
          exit_code: rank.exitCode ?? null,
          exit_signal: rank.exitSignal,
        })),
      exit_codes: Object.fromEntries([...run.ranks.values()].filter((rank) => rank.exitCode !== undefined).map((rank) => [String(rank.rank), rank.exitCode])),
      series: run.series.names(),
    };
  }

  /** GET /api/v1/runs/{id}/failures. */
  failures(run: RunState): Record<string, unknown> {
    const verdict = this.verdict(run);
    const first = verdict.first;
    return {
      first:
        first === null
          ? null
          : {
              rank: first.rank,
              class: first.class,
              time: formatRfc3339Nano(first.timeNs),
              host: first.host ?? null,
              summary: first.summary,
              evidence: first.evidence.map(evidenceJson),
            },
      failures: verdict.failures.map(failureJson),
    };
  }

  /** GET /api/v1/runs/{id}/series?name=…[&rank=…]. */
  series(run: RunState, name: string, rank: number | undefined, maxPointsPerRank?: number): Array<{ name: string; rank: number; x: 'step' | 'time'; points: Array<[number | string, number | string]> }> {
    const ranks = rank === undefined ? run.series.ranksOf(name) : [rank];
    const maxPoints = maxPointsPerRank ?? (rank === undefined ? Math.max(100, Math.floor(SERIES_DEFAULT_TOTAL_POINTS / Math.max(1, ranks.length))) : SERIES_DEFAULT_MAX_POINTS);
    const out = [];
    for (const r of ranks) {
      const series = run.series.get(name, r);
      if (series === undefined) continue;
      const points = series.points(maxPoints).map(([x, value]): [number | string, number | string] => [
        series.axis === 'time' ? formatRfc3339Nano(BigInt(Math.round(x))) : x,
        Number.isFinite(value) ? value : Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf',
      ]);
      out.push({ name, rank: r, x: series.axis, points });
    }
    return out;
  }

  /** Starts the periodic hang check. */
  start(): void {
    this.timer ??= setInterval(() => void this.check(), this.config.check_interval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Looks at every run once: writes hang events for hung ranks. Returns the events written. */
  async check(nowMs = this.now()): Promise<number> {
    if (this.checking) return 0;
    this.checking = true;
    let written = 0;
    try {
      for (const [tenant, runs] of this.tenants) {
        const streams: AppendStream[] = [];
        const rankStates = new Map<string, { labels: Labels; silent: boolean }>();
        for (const run of runs.values()) {
          // Only live runs alert: not replays of old logs, and not a run abandoned long ago.
          if (!this.isLive(run, nowMs)) continue;
          const verdict = this.verdict(run, nowMs);
          if (verdict.status === 'running' || verdict.status === 'hung') {
            for (const activity of this.rankActivity(run, nowMs)) {
              const labels: Labels = { __name__: RANK_SILENT_METRIC, run_id: run.id, rank: String(activity.rank) };
              const host = run.ranks.get(activity.rank)?.host;
              if (host !== undefined) labels.host = host;
              rankStates.set(`${run.id}\u0000${activity.rank}`, { labels, silent: activity.silent });
            }
          }
          if (verdict.status !== 'hung') continue;
          for (const rank of verdict.hungRanks) {
            const key = `${tenant}\u0000${run.id}\u0000${rank}`;
            if (nowMs - (this.lastEventMs.get(key) ?? 0) < HANG_EVENT_INTERVAL_MS) continue;
            this.lastEventMs.set(key, nowMs);
            const state = run.ranks.get(rank);
            const labels: Labels = { [TRAINING_EVENT_LABEL]: 'rank_hung', run: run.id, rank: String(rank) };
            if (state?.host !== undefined) labels.host = state.host;
            const line = JSON.stringify({
              run: run.id,
              rank,
              host: state?.host ?? '',
              silent_since: state === undefined ? '' : formatRfc3339Nano(state.lastNs),
              last_line: (state?.lastLine ?? '').slice(0, 500),
            });
            streams.push({ labels, entries: [{ timestampNs: BigInt(nowMs) * 1_000_000n, line }] });
          }
        }
        if (streams.length > 0 && this.emit !== undefined) {
          await this.emit(tenant, streams);
          written += streams.length;
        }
        await this.writeRankStates(tenant, rankStates, nowMs);
      }
    } finally {
      this.checking = false;
    }
    return written;
  }

  /** The rank-state samples of one check, and staleness markers for the ranks no longer live. */
  private async writeRankStates(tenant: string, current: Map<string, { labels: Labels; silent: boolean }>, nowMs: number): Promise<void> {
    if (this.emitSamples === undefined) return;
    const previous = this.rankStateSeries.get(tenant) ?? new Map<string, Labels>();
    const series: RankStateSeries[] = [];
    for (const { labels, silent } of current.values()) series.push({ labels, samples: [{ timestampMs: nowMs, value: silent ? 1 : 0 }] });
    for (const [key, labels] of previous) if (!current.has(key)) series.push({ labels, samples: [{ timestampMs: nowMs, value: 0, stale: true }] });
    if (series.length === 0) return;
    try {
      await this.emitSamples(tenant, series);
      this.rankStateSeries.set(tenant, new Map([...current].map(([key, { labels }]) => [key, labels])));
    } catch (error) {
      // The next check writes the state again; the log side (hang events) is unaffected.
      this.log(`cannot write ${RANK_SILENT_METRIC} for tenant ${tenant}: ${(error as Error).message}`);
    }
  }

  /**
   * Rebuilds runs from the log store (on start): every stream with a run label, oldest first. Lines
   * count as having arrived when they were logged, so old runs are judged final right away.
   */
  async rebuild(source: LogSource, tenants: string[] = this.savedTenants(), nowMs = this.now()): Promise<number> {
    const endNs = BigInt(nowMs + 3_600_000) * 1_000_000n;
    const startNs = BigInt(Math.max(0, nowMs - this.config.rebuild_lookback)) * 1_000_000n;
    let lines = 0;
    for (const tenant of tenants) {
      const seen = new Set<string>();
      for (const name of ['run_id', 'torchelastic_run_id', 'slurm_job_id', 'job']) {
        const blocks = await source.selectBlocks({ tenant, matchers: [{ name, type: '=~', value: '.+' }], startNs, endNs });
        blocks.sort((a, b) => (a.minTimeNs < b.minTimeNs ? -1 : a.minTimeNs > b.minTimeNs ? 1 : 0));
        for (const block of blocks) {
          const blockKey = `${block.stream.id}/${block.minTimeNs}/${block.maxTimeNs}/${block.entryCount}/${block.location?.objectKey ?? 'head'}/${block.location?.offset ?? 0}`;
          if (seen.has(blockKey)) continue;
          seen.add(blockKey);
          if (block.stream.labels[TRAINING_EVENT_LABEL] !== undefined) continue;
          const data = await block.load();
          const entries: Array<{ timestampNs: bigint; line: string }> = [];
          let start = 0;
          for (let i = 0; i < data.lineEnds.length; i++) {
            const end = data.lineEnds[i]!;
            entries.push({ timestampNs: data.timestampsNs[i]!, line: data.lines.toString('utf8', start, end) });
            start = end;
          }
          const lastMs = entries.length > 0 ? Number(entries[entries.length - 1]!.timestampNs / 1_000_000n) : nowMs;
          this.ingest(tenant, [{ labels: data.stream.labels, entries }], Math.min(nowMs, lastMs));
          lines += entries.length;
        }
      }
    }
    return lines;
  }
}

function evidenceJson(line: EvidenceLine): Record<string, unknown> {
  return { rank: line.rank, time: formatRfc3339Nano(line.timeNs), line: line.line, labels: line.labels };
}

function failureJson(view: FailureView): Record<string, unknown> {
  return {
    rank: view.rank,
    class: view.class,
    severity: view.severity,
    signature: view.signature,
    time: formatRfc3339Nano(view.timeNs),
    host: view.host ?? null,
    consequence: view.consequence,
    harmless: view.harmless,
    fields: view.fields,
    line: view.line,
    labels: view.labels,
  };
}
