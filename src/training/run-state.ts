// What the tracker keeps of one run as its lines arrive: ranks (rank-state.ts: first/last line, line intervals, last
// step, step → time samples for clock alignment, exit), hosts and nodes, pids, signature hits with
// their evidence, finish markers, attempts and the metric series. Updating is O(1) per line apart
// from the extractors and signature matching; the verdict is computed from this by run-analysis.ts.

import { RawLineEntry } from '../push/raw-line-entry.ts';
import type { RawStreamColumns } from '../push/raw-push-stream.ts';
import type { Labels } from '../push/types.ts';
import { launchFacts, matchSignatures, ncclProcessPrefix, type FailureSignature } from './failure-signatures.ts';
import { bytesView, globalPrefixLengthBytes, globalPrefixRankBytes } from './line-bytes.ts';
import { LineTemplates, type Plan } from './line-templates.ts';
import { globalPrefixLength, globalPrefixRank, globalRank, parseRankNumber, rankFromLabels, splitLinePrefix } from './run-identity.ts';
import { HIGH_HALF, LINE_TIME, LogTime, wordsTime } from './log-time.ts';
import { LINE_X, RankState, restOf } from './rank-state.ts';
import { RunSeries, type PointSeries } from './series-store.ts';

export interface Hit {
  signature: FailureSignature;
  fields: Record<string, string>;
  /** The rank that logged it; null for launcher, node and scheduler streams. */
  rank: number | null;
  host: string | undefined;
  timeNs: bigint;
  line: string;
  labels: Labels;
}

/** Hits kept per run; past this only causes, exits and scheduler hits are kept. */
const MAX_HITS_PER_RUN = 5000;
/** `[defaultN]:` lines of nodes > 0 held while the processes per node are unknown; past this, it is inferred. */
const MAX_PENDING_LOCAL_LINES = 200_000;
/** Node clocks differ by a few seconds: an exit and a restart this close are one event. */
const RESTART_SKEW_NS = 10_000_000_000n;
/** Evidence lines are cut to this many characters. */
const MAX_EVIDENCE_CHARS = 4000;

export interface Attempt {
  /** 1-based. */
  number: number;
  /** On the clock of `host` (the analysis aligns it like any other time). */
  startNs: bigint;
  host: string | undefined;
}

/** One torchrun `ChildFailedError` report, parsed line by line from the launcher's stream. */
interface ReportEntry {
  section: 'failures' | 'root';
  host?: string;
  rank?: number;
  localRank?: number;
  exitCode?: number;
  pid?: number;
}

/** The series one plan's values go to for one rank (cached on the plan), and whether they are distinct series. */
interface PlanSeries {
  series: Array<PointSeries | undefined>;
  hasStep: boolean;
  distinct: boolean;
}

/** What a push says about one stream, read once for all of its lines. */
interface StreamContext {
  labels: Labels;
  /** The labels as JSON: the key of the stream's launcher report state. */
  key: string;
  host: string | undefined;
  nodeRank: number | undefined;
  /** The rank the labels give (`rank`, a file path), and else a `local_rank` label. */
  labelRank: number | undefined;
  localLabel: number | undefined;
  /** Lines of the stream are errors (its `level` label). */
  isError: boolean;
}

export class RunState {
  readonly tenant: string;
  readonly id: string;
  readonly ranks = new Map<number, RankState>();
  readonly hosts = new Set<string>();
  readonly nodeRanks = new Set<string>();
  readonly hits: Hit[] = [];
  readonly finishes: Hit[] = [];
  readonly series = new RunSeries();
  private readonly templates = new LineTemplates();
  /** `host:pid` → global rank. */
  readonly pids = new Map<string, number>();
  /** IP address → host, from NCCL bootstrap lines. */
  readonly addresses = new Map<string, string>();
  readonly attempts: Attempt[] = [];
  /** Root cause named by the launcher's report (a rank number, not the `[N]:` list position). */
  rootCause: { rank: number; exitCode: number | undefined; host: string | undefined; timeNs: bigint } | undefined;
  worldSize: number | undefined;
  processesPerNode: number | undefined;
  firstNs: bigint | undefined;
  /** Wall-clock ms of the newest arrival. */
  lastArrivalMs = 0;
  /** Bumped on every change; the analysis is cached per version. */
  version = 0;
  /** torchrun's `failed (exitcode: …) local_rank: L (pid: P)` lines, resolved to ranks on demand. */
  readonly launcherExits: Array<{ host: string | undefined; nodeRank: number | undefined; localRank: number; pid: number; exitCode: number; timeNs: bigint }> = [];
  /** Lines with a local `[defaultN]:` prefix from a node > 0, held until the processes per node are known. */
  private pendingLocal: Array<{ stream: StreamContext; timeNs: bigint; line: string }> = [];
  /** firstNs as a double (see RankState.firstTime), and the newest log time (a LogTime: set on most lines). */
  private firstTime = Number.POSITIVE_INFINITY;
  private readonly last = new LogTime();
  private hasLast = false;
  /** The rank of the line before (lines of a stream are mostly one rank's): spares a map lookup a line. */
  private lastRank: RankState | undefined;
  /** Bumped when held lines are replayed (resolvePendingLocal): the line being added then sets LINE_TIME again. */
  private replays = 0;
  private readonly reports = new Map<string, ReportEntry | undefined>();
  private readonly reportSection = new Map<string, 'failures' | 'root' | undefined>();

  constructor(tenant: string, id: string) {
    this.tenant = tenant;
    this.id = id;
  }

  /** The newest log time of the run's lines. */
  get lastNs(): bigint | undefined {
    return this.hasLast ? this.last.ns : undefined;
  }

  private rankState(rank: number): RankState {
    let state = this.ranks.get(rank);
    if (state === undefined) {
      state = new RankState(rank);
      this.ranks.set(rank, state);
    }
    return state;
  }

  /**
   * Takes one stream's entries (one push): from `columns` when the server decoded the push into
   * columns (then `entries` is not read), else from `entries`.
   */
  addEntries(labels: Labels, entries: ReadonlyArray<{ timestampNs: bigint; line: string }>, arrivalMs: number, columns?: RawStreamColumns): void {
    this.version++;
    this.lastArrivalMs = Math.max(this.lastArrivalMs, arrivalMs);
    const host = labels.host ?? labels.hostname ?? labels.node ?? labels.nodename;
    if (host !== undefined) this.hosts.add(host);
    const nodeRankText = labels.node_rank ?? labels.group_rank;
    if (nodeRankText !== undefined) this.nodeRanks.add(nodeRankText);
    const nodeRank = parseRankNumber(nodeRankText);
    const labelWorld = parseRankNumber(labels.world_size);
    if (labelWorld !== undefined && labelWorld > 0) this.worldSize = Math.max(this.worldSize ?? 0, labelWorld);
    const localWorld = parseRankNumber(labels.local_world_size);
    if (localWorld !== undefined && localWorld > 0) this.processesPerNode ??= localWorld;
    const labelRank = rankFromLabels(labels);
    const level = labels.level ?? labels.detected_level;
    const stream: StreamContext = {
      labels,
      key: JSON.stringify(labels),
      host,
      nodeRank,
      labelRank,
      localLabel: labelRank === undefined ? parseRankNumber(labels.local_rank) : undefined,
      isError: level === 'error' || level === 'critical',
    };
    let rawLines = false;
    if (columns !== undefined) {
      // The push's columns, read in place: no entry object per line.
      // Timestamps are read as their two halves (timestampWords): a bigint read from the column
      // allocated one a line, a fifth of the tracker's CPU in the server (log-time.ts).
      const { source, lineStarts, lineEnds, timestampsNs, timestampWords } = columns;
      const view = bytesView(source);
      for (let i = 0; i < columns.count; i++) {
        const start = lineStarts[i]!;
        const end = lineEnds[i]!;
        const high = timestampWords[2 * i + HIGH_HALF]! | 0;
        const low = timestampWords[2 * i + 1 - HIGH_HALF]!;
        LINE_TIME.setWords(wordsTime(high, low), high, low);
        if (this.addRawLine(stream, source, start, end, view)) {
          rawLines = true;
          continue;
        }
        this.addEntry(stream, timestampsNs[i]!, source.toString('utf8', start, end));
      }
    } else {
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        if (entry instanceof RawLineEntry) LINE_TIME.set(entry.timestampNs);
        if (entry instanceof RawLineEntry && this.addRawLine(stream, entry.lineSource, entry.lineStart, entry.lineEnd)) {
          rawLines = true;
          continue;
        }
        this.addEntry(stream, entry.timestampNs, entry.line);
      }
    }
    // No rank keeps a reference to the push body past the push.
    if (rawLines) for (const state of this.ranks.values()) state.settleLastLine();
  }

  /**
   * The common case of a line the server hands over still in bytes (push columns or a RawLineEntry): a `[rankN]:` or
   * labelled rank's line of a known template with no signature, NCCL word or nan/inf to look at. Read
   * from the bytes (line-bytes.ts) with no string built; answers false having changed nothing, and
   * the caller decodes the line for addEntry. The line's time is in LINE_TIME.
   */
  private addRawLine(stream: StreamContext, source: Buffer, start: number, end: number, view?: DataView): boolean {
    let rank = stream.labelRank;
    const prefixLength = globalPrefixLengthBytes(source, start, end);
    if (prefixLength > 0) rank ??= globalPrefixRankBytes(source, start, prefixLength);
    // Local `[defaultN]:` prefixes and the launcher's own lines take the string path.
    else if (source[start] === 91 || stream.localLabel !== undefined) return false;
    if (rank === undefined) return false;
    let state = this.lastRank;
    if (state === undefined || state.rank !== rank) {
      state = this.ranks.get(rank);
      if (state === undefined) return false;
    }
    if (state.wrapperExitNs !== undefined) return false;
    const templates = this.templates;
    if (!templates.scanBytes(source, start + prefixLength, end, view)) return false;
    this.lastRank = state;
    this.noteLineTime();
    if (stream.host !== undefined) state.host = stream.host;
    if (stream.nodeRank !== undefined) state.nodeRank = stream.nodeRank;
    state.noteRawLine(source, start, end, prefixLength, stream.isError);
    // Values read by scanBytes are finite, so no NaN hit (which would need the line's text) is made here.
    if (templates.plan !== undefined) this.addRawPlanPoints(state, stream.labels, source);
    return true;
  }

  /**
   * The series of `plan`'s values for `rank` (cached on the plan), and what each does with a line's value.
   * The lookup is apart from the closures of planSeriesOf(): a function that holds a closure over
   * its arguments or `this` allocates their context on every call, the cache hits included, which
   * made this lookup (twice a line) most of the tracker's garbage: in process on the 100 MB bench
   * log (bench/dataset.ts) 50 young collections, 18 with the closures moved out.
   */
  private planSeries(plan: Plan, rank: number): PlanSeries {
    if (plan.lastRank === rank) return plan.lastSeries as PlanSeries;
    return this.planSeriesOf(plan, rank);
  }

  private planSeriesOf(plan: Plan, rank: number): PlanSeries {
    let cached = plan.seriesByRank.get(rank) as PlanSeries | undefined;
    if (cached === undefined) {
      const hasStep = plan.stepToken !== -1;
      const series = plan.names.map((name) => this.series.seriesFor(name, rank, hasStep));
      // A series twice in one plan would be asked twice before either point is taken: such plans read every value.
      const distinct = new Set(series.filter((one) => one !== undefined)).size === series.filter((one) => one !== undefined).length;
      cached = { series, hasStep, distinct };
      plan.seriesByRank.set(rank, cached);
    }
    plan.lastRank = rank;
    plan.lastSeries = cached;
    return cached;
  }

  /**
   * addPlanPoints() for a line scanBytes read from `source`: a value is read only for a series that
   * keeps it (a thinned series skips most, and a value scanBytes left unread is finite).
   */
  private addRawPlanPoints(state: RankState, labels: Labels, source: Buffer): void {
    const templates = this.templates;
    const plan = templates.plan!;
    const { series, hasStep, distinct } = this.planSeries(plan, state.rank);
    if (!distinct) {
      templates.readPlanValuesBytes(source);
      this.addPlanPoints(state, LINE_TIME.ns, '', 0, labels);
      return;
    }
    const values = templates.planValues;
    LINE_X[0] = templates.planStep;
    for (let i = 0; i < series.length; i++) {
      const one = series[i];
      if (one === undefined || (one.axis === 'step' && !hasStep)) continue;
      if (one.keepsNextFinite()) {
        templates.planValueBytes(i, source);
        one.addLinePoint(hasStep, LINE_X, values, i);
      } else one.skipFinite();
    }
    if (plan.progress) state.noteProgress(hasStep);
  }

  /** Widens the run's time range to the line's (LINE_TIME; doubles compared first, exact times only on a tie), and puts its double in LINE_X[1]. */
  private noteLineTime(): void {
    const line = LINE_TIME;
    const time = line.time;
    LINE_X[1] = time;
    if (time <= this.firstTime && (time < this.firstTime || this.firstNs === undefined || line.ns < this.firstNs)) {
      this.firstNs = line.ns;
      this.firstTime = time;
    }
    if (!this.hasLast || line.compareTo(this.last) > 0) {
      this.last.copy(line);
      this.hasLast = true;
    }
  }

  private addEntry(stream: StreamContext, timeNs: bigint, rawLine: string): void {
    const time = LINE_TIME.set(timeNs);
    const replays = this.replays;
    this.noteLineTime();
    const { labels, host, nodeRank } = stream;
    let rank = stream.labelRank;
    // The line is `base` from `from` on: past a `[rankN]: ` prefix it is read in place, and the
    // substring is built only for what keeps it (a hit, the slow extractors).
    let base = rawLine;
    const from = globalPrefixLength(rawLine);
    if (from > 0) {
      rank ??= globalPrefixRank(rawLine, from);
    } else {
      // The agent turns torchrun's `[defaultN]:` into a `local_rank` label when it can't tell the global
      // rank; such a line is a local prefix already split off.
      const localLabel = stream.localLabel;
      const prefix = splitLinePrefix(rawLine) ?? (localLabel !== undefined ? { kind: 'local' as const, rank: localLabel, rest: rawLine } : undefined);
      if (prefix !== undefined) {
        base = prefix.rest;
        if (rank === undefined) {
          if (prefix.kind === 'global') rank = prefix.rank;
          else if (nodeRank !== undefined && nodeRank > 0 && this.processesPerNode === undefined) {
            if (this.pendingLocal.length < MAX_PENDING_LOCAL_LINES) {
              this.pendingLocal.push({ stream, timeNs, line: rawLine });
              return;
            }
            this.resolvePendingLocal();
            rank = globalRank(prefix.rank, nodeRank, this.processesPerNode);
          } else rank = globalRank(prefix.rank, nodeRank, this.processesPerNode) ?? prefix.rank;
        }
      }
    }
    if (rank === undefined) {
      this.addLauncherLine(labels, stream.key, host, nodeRank, timeNs, base);
      return;
    }
    let state = this.lastRank;
    if (state === undefined || state.rank !== rank) {
      state = this.rankState(rank);
      this.lastRank = state;
    }
    if (host !== undefined) state.host = host;
    if (nodeRank !== undefined) state.nodeRank = nodeRank;
    // A rank that already exited and logs again was relaunched: a new attempt of the same run.
    if (state.wrapperExitNs !== undefined && timeNs > state.wrapperExitNs + 1_000_000_000n && !base.startsWith('rankscope run:', from)) {
      // Unless an attempt (an elastic restart the launcher announced) already began around that exit.
      if (this.currentAttempt().startNs < state.wrapperExitNs - RESTART_SKEW_NS) this.beginAttempt(timeNs, undefined, state.host);
      state.wrapperExitNs = undefined;
    }
    if (this.replays !== replays) {
      // Replaying held lines (resolvePendingLocal) above set them to those lines' times.
      LINE_TIME.set(timeNs);
      LINE_X[1] = time;
    }
    state.noteLine(base, from, stream.isError);
    const templates = this.templates;
    const mayMatch = templates.scan(base, from);
    // The scan noted whether the line can hold ` NCCL ` (most lines are ruled out without another pass).
    if (templates.mayHaveNccl && base.indexOf(' NCCL ', from) !== -1) this.noteNcclPrefix(state, rank, restOf(base, from));
    if (templates.plan !== undefined) this.addPlanPoints(state, timeNs, base, from, labels);
    const metrics = templates.metrics;
    if (metrics !== undefined) {
      let progressed = false;
      for (const [name, value] of metrics.values) {
        this.series.add(name, rank, metrics.step, time, value);
        if (name !== 'loss_scale' && name !== 'overflow') progressed = true;
        if ((name === 'loss' || name === 'eval_loss') && !Number.isFinite(value)) {
          this.addHit({ signature: NAN_VALUE_SIGNATURE, fields: { value: String(value), ...(metrics.step !== undefined ? { step: String(metrics.step) } : {}) } }, rank, state.host, timeNs, restOf(base, from), labels);
        }
      }
      if (progressed) {
        LINE_X[0] = metrics.step ?? Number.NaN;
        state.noteProgress(metrics.step !== undefined);
      }
    }
    if (!mayMatch) return;
    const line = restOf(base, from);
    for (const hit of matchSignatures(line, true)) {
      if (hit.signature.role === 'exit' && (hit.signature.id === 'wrapper-exit-code' || hit.signature.id === 'wrapper-signal')) {
        state.exitCode = hit.fields.exitcode !== undefined ? Number(hit.fields.exitcode) : null;
        state.exitSignal = hit.fields.signal_name ?? null;
        state.exitNs = timeNs;
        state.wrapperExitNs = timeNs;
      }
      this.addHit(hit, rank, state.host, timeNs, line, labels);
    }
  }

  /** NCCL's `host:pid:tid [localRank] NCCL …` prefix maps the pid (and the address of a bootstrap line) to the rank. */
  private noteNcclPrefix(state: RankState, rank: number, line: string): void {
    const nccl = ncclProcessPrefix(line);
    if (nccl === undefined) return;
    state.pid = nccl.pid;
    this.pids.set(`${nccl.host}:${nccl.pid}`, rank);
    state.host ??= nccl.host;
    const address = /Bootstrap : Using \w+:([\d.]+)|NET\/Socket : Using \[\d+\]\w+:([\d.]+)/.exec(line);
    if (address !== null) {
      state.address = address[1] ?? address[2];
      this.addresses.set(state.address!, nccl.host);
    }
  }

  /**
   * The values of a line of a known shape (read from its number tokens by the template scan) into
   * the rank's series. Apart from addEntry so that the series appends are inlined here: called from
   * addEntry's body they were not, and each value was boxed on its way (most of the tracker's garbage).
   */
  private addPlanPoints(state: RankState, timeNs: bigint, base: string, from: number, labels: Labels): void {
    const templates = this.templates;
    const plan = templates.plan!;
    const rank = state.rank;
    // The series are cached per plan and rank.
    const { series, hasStep } = this.planSeries(plan, rank);
    const values = templates.planValues;
    LINE_X[0] = templates.planStep;
    for (let i = 0; i < series.length; i++) {
      series[i]?.addLinePoint(hasStep, LINE_X, values, i);
      if (!Number.isFinite(values[i]!) && (plan.names[i] === 'loss' || plan.names[i] === 'eval_loss')) {
        const fields: Record<string, string> = { value: String(values[i]) };
        if (hasStep) fields.step = String(LINE_X[0]);
        this.addHit({ signature: NAN_VALUE_SIGNATURE, fields }, rank, state.host, timeNs, restOf(base, from), labels);
      }
    }
    if (plan.progress) state.noteProgress(hasStep);
  }

  private addLauncherLine(labels: Labels, streamKey: string, host: string | undefined, nodeRank: number | undefined, timeNs: bigint, text: string): void {
    const facts = launchFacts(text);
    if (facts !== undefined) {
      if (facts.processesPerNode !== undefined && this.processesPerNode === undefined) {
        this.processesPerNode = facts.processesPerNode;
        this.resolvePendingLocal();
      }
      if (facts.worldSize !== undefined && facts.worldSize > 0) this.worldSize = Math.max(this.worldSize ?? 0, facts.worldSize);
      if (facts.restartCount !== undefined && facts.restartCount > 0) this.beginAttempt(timeNs, facts.restartCount + 1, host);
      else if (facts.restarting === true) this.beginAttempt(timeNs, undefined, host);
    }
    for (const line of text.includes('\n') ? text.split('\n') : [text]) this.readReportLine(streamKey, timeNs, line);
    for (const hit of matchSignatures(text)) {
      if (hit.signature.id === 'torchrun-worker-failed') {
        // Resolved to a rank when analysed: by pid, else node rank × processes per node + local rank.
        this.launcherExits.push({ host, nodeRank, localRank: Number(hit.fields.local_rank), pid: Number(hit.fields.pid), exitCode: Number(hit.fields.exitcode), timeNs });
      }
      if (hit.signature.id === 'srun-task-exit') {
        const rank = Number(hit.fields.task);
        const state = this.rankState(rank);
        state.host ??= hit.fields.host;
        state.exitCode = hit.fields.exitcode !== undefined ? Number(hit.fields.exitcode) : hit.fields.how === 'Killed' ? -9 : -1;
        state.exitNs = timeNs;
      }
      this.addHit(hit, null, host, timeNs, text, labels);
    }
  }

  /** torchrun's failure report: `Failures:` / `Root Cause (first observed failure):` then `[N]:` blocks. */
  private readReportLine(streamKey: string, timeNs: bigint, line: string): void {
    if (line.includes('Root Cause (first observed failure)')) {
      this.closeReportEntry(streamKey, timeNs);
      this.reportSection.set(streamKey, 'root');
      return;
    }
    if (/^\s*Failures:\s*$/.test(line)) {
      this.closeReportEntry(streamKey, timeNs);
      this.reportSection.set(streamKey, 'failures');
      return;
    }
    const section = this.reportSection.get(streamKey);
    if (section === undefined) return;
    if (/^\s*\[\d+\]:\s*$/.test(line)) {
      this.closeReportEntry(streamKey, timeNs);
      this.reports.set(streamKey, { section });
      return;
    }
    if (/^={20,}/.test(line) && section === 'root') {
      this.closeReportEntry(streamKey, timeNs);
      this.reportSection.delete(streamKey);
      return;
    }
    const entry = this.reports.get(streamKey);
    if (entry === undefined) return;
    let match = /^\s*rank\s*: (\d+) \(local_rank: (\d+)\)/.exec(line);
    if (match !== null) {
      entry.rank = Number(match[1]);
      entry.localRank = Number(match[2]);
      return;
    }
    match = /^\s*exitcode\s*: (-?\d+) \(pid: (\d+)\)/.exec(line);
    if (match !== null) {
      entry.exitCode = Number(match[1]);
      entry.pid = Number(match[2]);
      return;
    }
    match = /^\s*host\s*: (\S+)/.exec(line);
    if (match !== null) entry.host = match[1]!;
  }

  private closeReportEntry(streamKey: string, timeNs: bigint): void {
    const entry = this.reports.get(streamKey);
    this.reports.delete(streamKey);
    if (entry?.rank === undefined) return;
    const state = this.rankState(entry.rank);
    if (entry.host !== undefined) {
      state.host ??= entry.host;
      if (entry.pid !== undefined) this.pids.set(`${entry.host}:${entry.pid}`, entry.rank);
    }
    if (entry.exitCode !== undefined && (state.exitNs === undefined || timeNs > state.exitNs + RESTART_SKEW_NS)) {
      state.exitCode = entry.exitCode;
      state.exitSignal = null;
      state.exitNs = timeNs;
    }
    if (entry.section === 'root' && (this.rootCause === undefined || timeNs > this.rootCause.timeNs)) {
      this.rootCause = { rank: entry.rank, exitCode: entry.exitCode, host: entry.host, timeNs };
    }
  }

  /**
   * Replays held `[defaultN]:` lines once the processes per node are known, or (when asked to settle
   * with it still unknown) with it inferred as the highest local rank seen + 1.
   */
  resolvePendingLocal(): void {
    if (this.pendingLocal.length === 0) return;
    if (this.processesPerNode === undefined) {
      let maxLocal = 0;
      for (const pending of this.pendingLocal) maxLocal = Math.max(maxLocal, splitLinePrefix(pending.line)?.rank ?? 0);
      for (const state of this.ranks.values()) if (state.nodeRank === 0) maxLocal = Math.max(maxLocal, state.rank);
      this.processesPerNode = maxLocal + 1;
    }
    this.replays++;
    const pending = this.pendingLocal;
    this.pendingLocal = [];
    for (const entry of pending) this.addEntry(entry.stream, entry.timeNs, entry.line);
  }

  private beginAttempt(timeNs: bigint, number: number | undefined, host: string | undefined): void {
    if (this.attempts.length === 0) this.attempts.push({ number: 1, startNs: this.firstNs ?? timeNs, host: undefined });
    const last = this.attempts[this.attempts.length - 1]!;
    if (number !== undefined && number <= last.number) {
      // The same restart announced by another node: keep the latest announcement. Workers start only
      // once every node has joined, and a node whose clock runs ahead must not pull the start before
      // the failure that caused the restart.
      const same = this.attempts.find((attempt) => attempt.number === number);
      if (same !== undefined && timeNs > same.startNs) {
        same.startNs = timeNs;
        same.host = host;
      }
      return;
    }
    if (number === undefined && timeNs <= last.startNs + RESTART_SKEW_NS) {
      if (timeNs > last.startNs && this.attempts.length > 1) {
        last.startNs = timeNs;
        last.host = host;
      }
      return;
    }
    this.attempts.push({ number: number ?? last.number + 1, startNs: timeNs, host });
    // Exits and the launcher's report belong to the attempt that ended; the analysis keeps only those
    // logged after the attempt began, so nothing is cleared here (arrival order must not matter).
  }

  private addHit(found: { signature: FailureSignature; fields: Record<string, string> }, rank: number | null, host: string | undefined, timeNs: bigint, line: string, labels: Labels): void {
    const hit: Hit = { ...found, rank, host, timeNs, line: line.length > MAX_EVIDENCE_CHARS ? line.slice(0, MAX_EVIDENCE_CHARS) : line, labels };
    if (found.signature.role === 'finish') {
      if (this.finishes.length < 1000) this.finishes.push(hit);
      return;
    }
    if (found.signature.role === 'harmless' && this.hits.length >= MAX_HITS_PER_RUN / 2) return;
    if (this.hits.length >= MAX_HITS_PER_RUN && found.signature.role !== 'cause' && found.signature.role !== 'scheduler' && found.signature.role !== 'kernel_oom') return;
    this.hits.push(hit);
  }

  /** The attempt in force (1 when there was no restart). */
  currentAttempt(): Attempt {
    return this.attempts[this.attempts.length - 1] ?? { number: 1, startNs: this.firstNs ?? 0n, host: undefined };
  }
}


/** A loss value that is NaN or infinite, read by the extractors. */
export const NAN_VALUE_SIGNATURE: FailureSignature = {
  id: 'non-finite-loss-value',
  class: 'nan_loss',
  severity: 'critical',
  role: 'cause',
  pattern: /$^/,
  fields: { value: 0, step: 0 },
};
