// Pure per-line transforms applied before multiline joining: progress-bar redraw collapsing, the
// rank prefix torchrun and PyTorch put on lines, and level detection.

/**
 * tqdm and friends redraw one terminal line with `\r`; the file then holds every intermediate state
 * on one "line". Keep the last non-empty state, which is what a terminal would show.
 */
export function collapseCarriageReturns(line: string): string {
  if (line.indexOf('\r') === -1) return line;
  const states = line.split('\r');
  for (let i = states.length - 1; i >= 0; i--) {
    if (states[i]!.trim() !== '') return states[i]!;
  }
  return '';
}

export interface RankPrefix {
  rank: string;
  /** `[rankN]:` is PyTorch's global rank; torchrun's `[defaultN]:` is the rank within the node. */
  scope: 'global' | 'local';
  /** The line with the prefix removed (one following space is removed too). */
  rest: string;
}

// `[rank3]: ` (with a space) is PyTorch's own prefix on distributed messages; `[default0]:` (no
// space) is torchrun's `--tee` prefix (role name + rank). Only the prefix itself is removed, so the
// indentation of traceback frames survives.
const RANK_PREFIX_PATTERN = /^\[(?:rank(\d{1,6})\]: ?|default(\d{1,6})\]:)/;

export function splitRankPrefix(line: string): RankPrefix | undefined {
  const match = RANK_PREFIX_PATTERN.exec(line);
  if (match === null) return undefined;
  return match[1] !== undefined ? { rank: match[1], scope: 'global', rest: line.slice(match[0].length) } : { rank: match[2]!, scope: 'local', rest: line.slice(match[0].length) };
}

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'critical';

// Upper-case words only: lower-case "error" occurs in ordinary prose ("0 errors"), upper-case
// level words are what Python logging, glog-style NCCL output and most launchers print.
const LEVEL_PATTERN = /\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b/;
const LEVEL_SCAN_CHARS = 256;

const LEVEL_BY_WORD: Record<string, Level> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  WARNING: 'warn',
  ERROR: 'error',
  CRITICAL: 'critical',
  FATAL: 'critical',
};

/** The first level word in the first 256 characters, normalised; undefined when there is none. */
export function detectLevel(line: string): Level | undefined {
  const head = line.length > LEVEL_SCAN_CHARS ? line.slice(0, LEVEL_SCAN_CHARS) : line;
  const match = LEVEL_PATTERN.exec(head);
  return match === null ? undefined : LEVEL_BY_WORD[match[1]!];
}
