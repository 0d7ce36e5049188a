// Which run and which rank a stream (or a line) belongs to. A run is named by the first of its
// run-id labels; a rank by the `rank` label, else a line prefix (PyTorch's global `[rankN]:`, or
// torchrun's `--tee` `[<role>N]:`, which is the local rank), else the file path.

import type { Labels } from '../push/types.ts';

/** Labels that name a run, in order of preference (docs/training.md). */
export const RUN_ID_LABELS = ['run_id', 'torchelastic_run_id', 'slurm_job_id', 'job'] as const;

/** Streams the tracker writes itself (hang events for the ruler) carry this label; they are skipped. */
export const TRAINING_EVENT_LABEL = 'rankscope_event';

export function runIdOf(labels: Labels): string | undefined {
  for (const name of RUN_ID_LABELS) {
    const value = labels[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** A non-negative integer label or text, else undefined. */
export function parseRankNumber(text: string | undefined): number | undefined {
  if (text === undefined || text === '' || text.length > 7) return undefined;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return undefined;
  }
  return Number(text);
}

export interface LinePrefix {
  /** `global` for `[rankN]:`, `local` for torchrun's `[<role>N]:`. */
  kind: 'global' | 'local';
  rank: number;
  rest: string;
}

// `[rank3]: ` is PyTorch's own (global) prefix; `[default0]:` / `[trainer3]:` is torchrun's --tee
// prefix, role name then local rank. Both may be stacked: `[default1]:[rank5]: …`.
const GLOBAL_PREFIX = /^\[rank(\d{1,6})\]: ?/;
const LOCAL_PREFIX = /^\[([A-Za-z_][A-Za-z_-]*?)(\d{1,4})\]:/;

/**
 * The length of a leading `[rankN]:` or `[rankN]: ` (PyTorch's global prefix), 0 when there is none.
 * Read by hand: it prefixes most lines of a torchrun job, so the ingest path takes its rank
 * (globalPrefixRank) and reads the rest in place, with no match array, object or substring per line.
 */
export function globalPrefixLength(line: string): number {
  if (line.charCodeAt(0) !== 91 /* [ */ || !line.startsWith('[rank')) return 0;
  let i = 5;
  while (i < line.length && i < 12) {
    const code = line.charCodeAt(i);
    if (code < 48 || code > 57) break;
    i++;
  }
  if (i > 5 && line.charCodeAt(i) === 93 /* ] */ && line.charCodeAt(i + 1) === 58 /* : */) return line.charCodeAt(i + 2) === 32 ? i + 3 : i + 2;
  return 0;
}

/** The rank of a prefix that globalPrefixLength measured (`length` > 0). */
export function globalPrefixRank(line: string, length: number): number {
  let rank = 0;
  for (let i = 5; i < length; i++) {
    const code = line.charCodeAt(i);
    if (code < 48 || code > 57) break;
    rank = rank * 10 + code - 48;
  }
  return rank;
}

export function splitLinePrefix(line: string): LinePrefix | undefined {
  if (line.charCodeAt(0) !== 91 /* [ */) return undefined;
  const length = globalPrefixLength(line);
  if (length > 0) return { kind: 'global', rank: globalPrefixRank(line, length), rest: line.slice(length) };
  let match = GLOBAL_PREFIX.exec(line);
  if (match !== null) return { kind: 'global', rank: Number(match[1]), rest: line.slice(match[0].length) };
  match = LOCAL_PREFIX.exec(line);
  if (match === null || match[1] === 'rank') return undefined;
  const rest = line.slice(match[0].length);
  const inner = GLOBAL_PREFIX.exec(rest);
  if (inner !== null) return { kind: 'global', rank: Number(inner[1]), rest: rest.slice(inner[0].length) };
  return { kind: 'local', rank: Number(match[2]), rest };
}

// rank-3.log, rank3.txt, worker-3, logs/rank_12/stdout.log
const PATH_RANK = /(?:^|[/_.-])(?:rank|worker)[-_]?(\d{1,6})(?=$|[/_.-])/i;

export function rankFromPath(path: string | undefined): number | undefined {
  if (path === undefined) return undefined;
  const match = PATH_RANK.exec(path);
  return match === null ? undefined : Number(match[1]);
}

/** The rank a stream's labels give: `rank`, else a path label. */
export function rankFromLabels(labels: Labels): number | undefined {
  return parseRankNumber(labels.rank) ?? rankFromPath(labels.filename ?? labels.path ?? labels.file);
}

/** Global rank from a local one when the node rank and processes per node are known. */
export function globalRank(localRank: number, nodeRank: number | undefined, processesPerNode: number | undefined): number | undefined {
  if (nodeRank === undefined || processesPerNode === undefined) return nodeRank === 0 ? localRank : undefined;
  return nodeRank * processesPerNode + localRank;
}
