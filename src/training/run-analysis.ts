// The verdict on a run's latest attempt, judged on the log's own timeline: status, the origin of a
// failure (not the first error line), every failure in causal order with consequences marked, and
// hung ranks. Pure: a RunState and whether the log has ended in, a verdict out.
//
// Causal evidence beats raw timestamps. Clocks of nodes are aligned first by the steps ranks print
// (data-parallel ranks print step N at nearly the same real time), then:
// - consequences never count (watchdog timeouts of ranks that waited, aborts, SIGTERMs, peers);
// - a caught traceback after which the rank made progress is harmless;
// - the kernel OOM killer's pid is mapped to its rank (launcher pid lines, NCCL host:pid:tid);
// - with only watchdog timeouts, the rank that did not time out (or has the lowest last completed
//   work) is the origin; with only connection errors, a rank on the host they name;
// - a scheduler kill or an all-rank divergence has no origin rank.

import type { FailureClass, Severity } from './failure-signatures.ts';
import { globalRank } from './run-identity.ts';
import type { RankState } from './rank-state.ts';
import type { Hit, RunState } from './run-state.ts';

export type RunStatus = 'running' | 'finished' | 'failed' | 'hung';

export interface EvidenceLine {
  rank: number | null;
  timeNs: bigint;
  line: string;
  labels: Record<string, string>;
}

export interface FailureView {
  rank: number | null;
  class: FailureClass;
  severity: Severity;
  signature: string;
  timeNs: bigint;
  host: string | undefined;
  consequence: boolean;
  harmless: boolean;
  fields: Record<string, string>;
  line: string;
  labels: Record<string, string>;
}

export interface FirstFailure {
  rank: number | null;
  class: FailureClass;
  timeNs: bigint;
  host: string | undefined;
  summary: string;
  evidence: EvidenceLine[];
}

export interface RunVerdict {
  status: RunStatus;
  first: FirstFailure | null;
  failures: FailureView[];
  hungRanks: number[];
}

export interface AnalysisOptions {
  /** The log has ended (no line arrived for the finalize period): stopped ranks are judged. */
  ended: boolean;
  /** Hang threshold: max(k × a rank's median line interval, floor). */
  hangIntervalMultiple: number;
  hangFloorMs: number;
}

const NS_PER_MS = 1_000_000n;
/** Two causes this close (after clock alignment) are simultaneous; the stronger class wins. */
const SIMULTANEOUS_NS = 1_500_000_000n;
/** Ranks need this many lines before their silence can mean a hang. */
const MIN_LINES_FOR_HANG = 4;

const CLASS_STRENGTH: Record<FailureClass, number> = {
  kernel_oom: 6,
  cuda_oom: 5,
  sigkill: 4,
  nccl_error: 3,
  nan_loss: 2,
  python_exception: 1,
  connection_reset: 0,
  nccl_timeout: 0,
  slurm_timeout: 0,
  hang: 0,
};

function median(values: bigint[]): bigint {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Per-host clock offsets (ns, to subtract) from the step → time samples of ranks on each host. */
export function hostClockOffsets(ranks: RankState[]): Map<string, bigint> {
  const offsets = new Map<string, bigint>();
  const withSteps = ranks.filter((rank) => rank.host !== undefined && rank.stepTimes.size > 0).sort((a, b) => a.rank - b.rank);
  const reference = withSteps[0];
  if (reference === undefined) return offsets;
  const byHost = new Map<string, bigint[]>();
  for (const rank of withSteps) {
    const diffs: bigint[] = [];
    for (const [step, timeNs] of rank.stepTimes) {
      const referenceNs = reference.stepTimes.get(step);
      if (referenceNs !== undefined) diffs.push(timeNs - referenceNs);
    }
    if (diffs.length === 0) continue;
    const list = byHost.get(rank.host!) ?? [];
    list.push(median(diffs));
    byHost.set(rank.host!, list);
  }
  for (const [host, list] of byHost) offsets.set(host, median(list));
  return offsets;
}

interface Candidate {
  rank: number | null;
  class: FailureClass;
  timeNs: bigint;
  hits: Hit[];
  summary: string;
}

export function analyzeRun(run: RunState, options: AnalysisOptions): RunVerdict {
  const attempt = run.currentAttempt();
  const allRanks = [...run.ranks.values()];
  const offsets = hostClockOffsets(allRanks);
  const corrected = (timeNs: bigint, host: string | undefined): bigint => timeNs - (host === undefined ? 0n : (offsets.get(host) ?? 0n));
  const skewSlackNs = 5_000_000_000n;
  const attemptStartNs = attempt.number > 1 ? corrected(attempt.startNs, attempt.host) : attempt.startNs - skewSlackNs;
  const inAttempt = (hit: Hit) => corrected(hit.timeNs, hit.host) >= attemptStartNs;
  const ranks = allRanks.filter((rank) => rank.lines > 0 && corrected(rank.lastNs, rank.host) >= attemptStartNs);
  const rankByNumber = new Map(ranks.map((rank) => [rank.rank, rank]));
  const hits = run.hits.filter(inAttempt);
  const lastNsOf = (rank: RankState) => corrected(rank.lastNs, rank.host);

  // Exit codes: the rank's own (wrapper, srun, torchrun's report), else the launcher's pid lines.
  const exits = new Map<number, { code: number | null; signal: string | null }>();
  for (const exit of run.launcherExits) {
    if (corrected(exit.timeNs, exit.host) < attemptStartNs) continue;
    const rank = run.pids.get(`${exit.host}:${exit.pid}`) ?? globalRank(exit.localRank, exit.nodeRank, run.processesPerNode) ?? (run.hosts.size <= 1 ? exit.localRank : undefined);
    if (rank !== undefined && !exits.has(rank)) exits.set(rank, { code: exit.exitCode, signal: null });
  }
  for (const state of ranks) {
    if (state.exitCode !== undefined && state.exitNs !== undefined && corrected(state.exitNs, state.host) >= attemptStartNs) exits.set(state.rank, { code: state.exitCode, signal: state.exitSignal });
  }
  const exitCodeOf = (state: RankState) => exits.get(state.rank)?.code;
  const killedBySigkill = (state: RankState) => {
    const exit = exits.get(state.rank);
    return exit !== undefined && (exit.code === -9 || exit.code === 137 || exit.signal === 'SIGKILL');
  };

  // Caught: a cause on a rank that made progress afterwards.
  const harmless = (hit: Hit): boolean => {
    if (hit.signature.role === 'harmless') return true;
    if (hit.rank === null || (hit.signature.role !== 'cause' && hit.signature.role !== 'consequence' && hit.signature.role !== 'peer')) return false;
    if (hit.signature.class === 'kernel_oom' || hit.signature.class === 'sigkill' || hit.signature.class === 'nan_loss') return false;
    const state = run.ranks.get(hit.rank);
    return state?.lastProgressNs !== undefined && state.lastProgressNs > hit.timeNs + 500n * NS_PER_MS;
  };
  const isConsequence = (hit: Hit) => (hit.signature.role === 'consequence' || hit.signature.role === 'peer') && !harmless(hit);

  const candidates: Candidate[] = [];
  const addCandidate = (rank: number | null, cls: FailureClass, timeNs: bigint, evidence: Hit[], summary: string) => candidates.push({ rank, class: cls, timeNs, hits: evidence, summary });

  // Kernel OOM killer: pid → rank (same host first; DataLoader workers through the rank that reported
  // them killed), else a rank of that host that died of -9.
  const workerPids = new Map<string, number>();
  for (const hit of hits) {
    if (hit.signature.id !== 'dataloader-killed' || hit.rank === null) continue;
    for (const pid of (hit.fields.pid ?? '').split(/[,\s]+/)) if (pid !== '') workerPids.set(pid, hit.rank);
  }
  const killedRanks = new Set<number>();
  for (const hit of hits) {
    if (hit.signature.role !== 'kernel_oom') continue;
    const pid = hit.fields.pid;
    let rank: number | undefined;
    if (pid !== undefined) {
      if (hit.host !== undefined) rank = run.pids.get(`${hit.host}:${pid}`);
      rank ??= workerPids.get(pid);
      if (rank === undefined) {
        const matches = [...run.pids].filter(([key]) => key.endsWith(`:${pid}`));
        if (matches.length === 1) rank = matches[0]![1];
      }
    }
    if (rank === undefined) {
      const died = ranks.filter((state) => (hit.host === undefined || state.host === hit.host) && killedBySigkill(state));
      if (died.length > 0) rank = died.sort((a, b) => (lastNsOf(a) < lastNsOf(b) ? -1 : 1))[0]!.rank;
    }
    if (rank !== undefined) killedRanks.add(rank);
    addCandidate(rank ?? null, 'kernel_oom', rank !== undefined && rankByNumber.has(rank) ? lastNsOf(rankByNumber.get(rank)!) : corrected(hit.timeNs, hit.host), [hit], `kernel OOM killer killed pid ${pid ?? '?'}${rank !== undefined ? ` (rank ${rank})` : ''}`);
  }

  // Causes logged by ranks.
  for (const hit of hits) {
    if (hit.signature.role !== 'cause' || hit.rank === null || harmless(hit) || hit.signature.class === undefined) continue;
    if (hit.signature.class === 'nan_loss') continue;
    if (hit.signature.class === 'sigkill' && killedRanks.has(hit.rank)) continue;
    addCandidate(hit.rank, hit.signature.class, corrected(hit.timeNs, hit.host), [hit], summarize(hit));
  }

  // Exits: -9 / SIGKILL with no cause of its own is a kill; other non-zero exits are weak evidence.
  const ranksWithCause = new Set(candidates.map((candidate) => candidate.rank));
  const exitHits = hits.filter((hit) => hit.signature.role === 'exit');
  for (const state of ranks) {
    const code = exitCodeOf(state);
    if ((code === undefined && !killedBySigkill(state)) || code === 0 || ranksWithCause.has(state.rank)) continue;
    const killed = killedBySigkill(state);
    const evidence = exitHits.filter((hit) => hit.rank === state.rank);
    if (killed) addCandidate(state.rank, 'sigkill', lastNsOf(state), evidence, `rank ${state.rank} was killed (SIGKILL) with no traceback`);
  }

  // NaN / inf: the first step (or time) per rank; a tie across ranks means all diverged.
  const allNanHits = hits.filter((hit) => hit.signature.class === 'nan_loss' && hit.signature.role === 'cause' && hit.rank !== null);
  // Order by step when NaNs were read with steps (a step is causal; a time is not), else by time.
  const steppedNanHits = allNanHits.filter((hit) => hit.fields.step !== undefined);
  const nanHits = steppedNanHits.length > 0 ? steppedNanHits : allNanHits;
  if (nanHits.length > 0) {
    const firstByRank = new Map<number, Hit>();
    for (const hit of nanHits) {
      const known = firstByRank.get(hit.rank!);
      if (known === undefined || nanOrder(hit, known, corrected) < 0) firstByRank.set(hit.rank!, hit);
    }
    const firsts = [...firstByRank.values()].sort((a, b) => nanOrder(a, b, corrected));
    const first = firsts[0]!;
    const tied = firsts.filter((hit) => nanOrder(hit, first, corrected) === 0);
    const lossRanks = run.series.ranksOf('loss').filter((rank) => rankByNumber.has(rank));
    const allTogether = tied.length > 1 || lossRanks.length <= 1;
    const earliestNs = allNanHits.reduce((min, hit) => (corrected(hit.timeNs, hit.host) < min ? corrected(hit.timeNs, hit.host) : min), corrected(first.timeNs, first.host));
    addCandidate(allTogether ? null : first.rank, 'nan_loss', earliestNs, tied, allTogether ? 'loss became NaN/inf on every rank together' : `loss became NaN/inf on rank ${first.rank} first`);
  }

  const scheduler = hits.filter((hit) => hit.signature.role === 'scheduler').sort((a, b) => (a.timeNs < b.timeNs ? -1 : 1))[0];

  let first: Candidate | undefined;
  const realCauses = candidates.filter((candidate) => scheduler === undefined || candidate.timeNs < corrected(scheduler.timeNs, scheduler.host) - 2_000_000_000n);
  if (realCauses.length > 0) {
    realCauses.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
    first = realCauses[0]!;
    for (const candidate of realCauses) {
      if (candidate.timeNs - first.timeNs > SIMULTANEOUS_NS) break;
      if (CLASS_STRENGTH[candidate.class] > CLASS_STRENGTH[first.class] || (first.rank === null && candidate.rank !== null && candidate.class === first.class)) first = candidate;
    }
  } else if (scheduler !== undefined) {
    first = { rank: null, class: 'slurm_timeout', timeNs: corrected(scheduler.timeNs, scheduler.host), hits: [scheduler], summary: summarize(scheduler) };
  }

  // Only consequences: the rank they point at.
  const consequences = hits.filter(isConsequence);
  if (first === undefined && consequences.length > 0) first = originFromConsequences(run, ranks, consequences, lastNsOf);
  if (first === undefined && run.rootCause !== undefined && corrected(run.rootCause.timeNs, run.rootCause.host) >= attemptStartNs) {
    const root = run.rootCause;
    const cls: FailureClass = root.exitCode === -9 ? 'sigkill' : root.exitCode !== undefined && root.exitCode < 0 ? 'sigkill' : 'python_exception';
    first = { rank: root.rank, class: cls, timeNs: root.timeNs, hits: exitHits.filter((hit) => hit.rank === root.rank), summary: `launcher's root cause: rank ${root.rank} exited with ${root.exitCode ?? '?'}` };
  }
  if (first === undefined) {
    const failedExit = ranks
      .filter((state) => {
        const exit = exits.get(state.rank);
        return exit !== undefined && exit.code !== 0 && exit.code !== -15 && exit.code !== 143 && exit.signal !== 'SIGTERM';
      })
      .sort((a, b) => (lastNsOf(a) < lastNsOf(b) ? -1 : 1))[0];
    if (failedExit !== undefined) first = { rank: failedExit.rank, class: 'python_exception', timeNs: lastNsOf(failedExit), hits: exitHits.filter((hit) => hit.rank === failedExit.rank), summary: `rank ${failedExit.rank} exited with code ${exitCodeOf(failedExit) ?? exits.get(failedExit.rank)?.signal}` };
  }

  const failures = listFailures(hits, first, harmless, corrected);
  const finished = run.finishes.some((hit) => corrected(hit.timeNs, hit.host) >= attemptStartNs) || (ranks.length > 0 && ranks.every((state) => exitCodeOf(state) === 0));

  // Hung ranks: silent past their threshold while another rank logged later.
  const hungRanks: number[] = [];
  if (first === undefined && !finished) {
    const eligible = ranks.filter((state) => state.lines >= MIN_LINES_FOR_HANG);
    const latestNs = eligible.reduce((max, state) => (lastNsOf(state) > max ? lastNsOf(state) : max), 0n);
    for (const state of eligible) {
      const thresholdMs = Math.max(options.hangIntervalMultiple * (state.medianIntervalMs() ?? 0), options.hangFloorMs);
      if (Number(latestNs - lastNsOf(state)) / 1e6 > thresholdMs) hungRanks.push(state.rank);
    }
    if (hungRanks.length === 0 && options.ended && eligible.length > 0) {
      // Everything stopped with no finish and no failure: the first rank to stop (lowest last step, then earliest last line).
      const origin = [...eligible].sort((a, b) => firstToStop(a, b, lastNsOf))[0]!;
      hungRanks.push(origin.rank);
    }
    hungRanks.sort((a, b) => a - b);
    if (hungRanks.length > 0) {
      const origin = hungRanks.map((rank) => rankByNumber.get(rank)!).sort((a, b) => firstToStop(a, b, lastNsOf))[0]!;
      first = {
        rank: origin.rank,
        class: 'hang',
        timeNs: lastNsOf(origin),
        hits: [],
        summary: `rank ${origin.rank}${origin.host !== undefined ? ` on ${origin.host}` : ''} stopped logging first; last line: ${origin.lastLine.slice(0, 200)}`,
      };
    }
  }

  let status: RunStatus;
  if (first === undefined) status = finished ? 'finished' : options.ended ? 'finished' : 'running';
  else status = first.class === 'hang' ? 'hung' : 'failed';
  if (first !== undefined && first.class !== 'hang' && !options.ended && status === 'failed' && first.class === 'python_exception' && first.hits.length > 0 && first.rank !== null) {
    // A traceback may still turn out to be caught (progress follows); wait for the log to settle.
    const state = run.ranks.get(first.rank);
    if (state !== undefined && !exits.has(state.rank) && !consequences.length) status = 'running';
  }

  const firstFailure: FirstFailure | null =
    first === undefined || status === 'running'
      ? null
      : {
          rank: first.rank,
          class: first.class,
          timeNs: first.hits[0]?.timeNs ?? (first.rank !== null ? run.ranks.get(first.rank)?.lastNs : undefined) ?? first.timeNs,
          host: first.rank !== null ? (run.ranks.get(first.rank)?.host ?? first.hits[0]?.host) : first.hits[0]?.host,
          summary: first.summary,
          evidence: evidenceFor(run, first, first.class === 'hang' ? [] : consequences),
        };
  return { status, first: firstFailure, failures, hungRanks: status === 'hung' ? hungRanks : [] };
}

function nanOrder(a: Hit, b: Hit, corrected: (timeNs: bigint, host: string | undefined) => bigint): number {
  const stepA = a.fields.step !== undefined ? Number(a.fields.step) : undefined;
  const stepB = b.fields.step !== undefined ? Number(b.fields.step) : undefined;
  if (stepA !== undefined && stepB !== undefined) return stepA - stepB;
  const diff = corrected(a.timeNs, a.host) - corrected(b.timeNs, b.host);
  return diff > SIMULTANEOUS_NS ? 1 : diff < -SIMULTANEOUS_NS ? -1 : 0;
}

function firstToStop(a: RankState, b: RankState, lastNsOf: (rank: RankState) => bigint): number {
  if (a.maxStep !== undefined && b.maxStep !== undefined && a.maxStep !== b.maxStep) return a.maxStep - b.maxStep;
  const diff = lastNsOf(a) - lastNsOf(b);
  return diff < 0n ? -1 : diff > 0n ? 1 : a.rank - b.rank;
}

/** With only consequences: the rank that did not wait (timeouts), or a rank on the host peers name. */
function originFromConsequences(run: RunState, ranks: RankState[], consequences: Hit[], lastNsOf: (rank: RankState) => bigint): Candidate | undefined {
  const named = new Map<string, number>();
  for (const hit of consequences) {
    const peer = hit.fields.peer;
    if (peer === undefined) continue;
    const bare = peer.replace(/<\d+>$/, '').replace(/:\d+$/, '');
    const host = run.addresses.get(bare) ?? bare;
    named.set(host, (named.get(host) ?? 0) + 1);
  }
  const reporters = new Set(consequences.filter((hit) => hit.rank !== null).map((hit) => hit.rank!));
  const timeouts = consequences.filter((hit) => hit.signature.class === 'nccl_timeout' && hit.rank !== null);
  const peerClass = consequences.some((hit) => hit.signature.id === 'ib-completion-error') && !consequences.some((hit) => hit.signature.id === 'connection-closed-peer') ? 'nccl_error' : 'connection_reset';
  const byStop = (list: RankState[]) => [...list].sort((a, b) => firstToStop(a, b, lastNsOf))[0];

  if (named.size > 0) {
    const [host] = [...named].sort((a, b) => b[1] - a[1])[0]!;
    const onHost = ranks.filter((state) => state.host === host || (host.length > 0 && state.host?.startsWith(`${host}.`)));
    const silent = onHost.filter((state) => !reporters.has(state.rank));
    // A lost node takes all its ranks at once: the lowest rank among those that stopped together.
    const first = byStop(silent.length > 0 ? silent : onHost);
    const together = (silent.length > 0 ? silent : onHost).filter((state) => state.maxStep === first?.maxStep && lastNsOf(state) - lastNsOf(first!) <= SIMULTANEOUS_NS);
    const pick = together.sort((a, b) => a.rank - b.rank)[0] ?? first;
    if (pick !== undefined) return { rank: pick.rank, class: peerClass, timeNs: lastNsOf(pick), hits: consequences.filter((hit) => hit.fields.peer !== undefined).slice(0, 5), summary: `peers lost their connection to ${host} (rank ${pick.rank})` };
  }
  if (timeouts.length > 0) {
    const nonReporters = ranks.filter((state) => !reporters.has(state.rank));
    if (nonReporters.length > 0) {
      const pick = byStop(nonReporters)!;
      return { rank: pick.rank, class: 'nccl_timeout', timeNs: lastNsOf(pick), hits: timeouts.slice(0, 5), summary: `rank ${pick.rank} never reached the collective the other ranks timed out in` };
    }
    // Everyone timed out: the rank that completed the least work is behind.
    const progress = new Map<number, number>();
    for (const hit of timeouts) {
      const done = hit.fields.last_completed !== undefined ? Number(hit.fields.last_completed) : hit.fields.seq !== undefined ? Number(hit.fields.seq) - 1 : undefined;
      if (done === undefined) continue;
      progress.set(hit.rank!, Math.min(progress.get(hit.rank!) ?? Infinity, done));
    }
    const sorted = [...progress].sort((a, b) => a[1] - b[1]);
    const lowest = sorted[0];
    const unique = lowest !== undefined && (sorted.length === 1 || sorted[1]![1] > lowest[1]);
    return {
      rank: unique && sorted.length > 1 ? lowest[0] : null,
      class: 'nccl_timeout',
      timeNs: timeouts[0]!.timeNs,
      hits: timeouts.filter((hit) => lowest === undefined || hit.rank === lowest[0]).slice(0, 5),
      summary: unique && sorted.length > 1 ? `rank ${lowest[0]} completed the least NCCL work (${lowest[1]}) before the timeout` : 'every rank timed out in the same collective',
    };
  }
  const rankReporters = consequences.filter((hit) => hit.rank !== null);
  if (rankReporters.length > 0) {
    const silent = ranks.filter((state) => !reporters.has(state.rank));
    const pick = byStop(silent);
    if (pick !== undefined) return { rank: pick.rank, class: rankReporters[0]!.signature.class ?? 'connection_reset', timeNs: lastNsOf(pick), hits: rankReporters.slice(0, 5), summary: `rank ${pick.rank} went away; the others report ${rankReporters[0]!.signature.id}` };
  }
  return undefined;
}

function summarize(hit: Hit): string {
  const text = hit.line.split('\n').filter((line) => line.trim() !== '');
  const exceptionLine = [...text].reverse().find((line) => /(?:Error|Exception)\b/.test(line)) ?? text[text.length - 1] ?? '';
  return `${hit.rank !== null ? `rank ${hit.rank}: ` : ''}${exceptionLine.trim().slice(0, 300)}`;
}

function evidenceFor(run: RunState, first: Candidate, consequences: Hit[]): EvidenceLine[] {
  const lines: EvidenceLine[] = first.hits.map((hit) => ({ rank: hit.rank, timeNs: hit.timeNs, line: hit.line, labels: hit.labels }));
  if (first.rank !== null) {
    const state = run.ranks.get(first.rank);
    if (state !== undefined && lines.length === 0) lines.push({ rank: state.rank, timeNs: state.lastNs, line: state.lastLine, labels: {} });
  }
  for (const hit of consequences.slice(0, 3)) if (!first.hits.includes(hit)) lines.push({ rank: hit.rank, timeNs: hit.timeNs, line: hit.line, labels: hit.labels });
  return lines.slice(0, 10);
}

function listFailures(hits: Hit[], first: Candidate | undefined, harmless: (hit: Hit) => boolean, corrected: (timeNs: bigint, host: string | undefined) => bigint): FailureView[] {
  const views: FailureView[] = [];
  for (const hit of hits) {
    if (hit.signature.class === undefined && hit.signature.role !== 'exit') continue;
    if (hit.signature.role === 'exit' && hit.fields.exitcode === '0') continue;
    const isFirst = first?.hits.includes(hit) ?? false;
    views.push({
      rank: hit.rank,
      class: hit.signature.class ?? (hit.fields.exitcode === '-9' ? 'sigkill' : 'python_exception'),
      severity: hit.signature.severity,
      signature: hit.signature.id,
      timeNs: hit.timeNs,
      host: hit.host,
      consequence: !isFirst && (hit.signature.role === 'consequence' || hit.signature.role === 'peer' || hit.signature.role === 'exit' || (first !== undefined && hit.rank !== first.rank && hit.signature.role !== 'kernel_oom')),
      harmless: harmless(hit),
      fields: hit.fields,
      line: hit.line,
      labels: hit.labels,
    });
  }
  // Causal order: the origin first, then by aligned time.
  views.sort((a, b) => {
    if (a.consequence !== b.consequence) return a.consequence ? 1 : -1;
    const diff = corrected(a.timeNs, a.host) - corrected(b.timeNs, b.host);
    return diff < 0n ? -1 : diff > 0n ? 1 : 0;
  });
  return views.slice(0, 1000);
}
