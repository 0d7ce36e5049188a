// Turns physical lines from one source into labelled entries: `\r` redraws collapsed, the rank prefix
// split off into a `rank` label, lines joined into multiline entries per stream and rank, then the
// timestamp and level read from the entry. One instance per source file or per wrapped command,
// because multiline state belongs to one writer.

import { formatLabels } from '../push/labels.ts';
import type { Labels } from '../push/types.ts';
import type { ProcessingConfig } from './config.ts';
import { compileRegex } from '../regex/index.ts';
import { collapseCarriageReturns, detectLevel, splitRankPrefix } from './line-text.ts';
import { MultilineJoiner, type JoinedEntry } from './multiline.ts';
import { nowNs, parseLineTimestamp, type TimestampOptions } from './timestamp.ts';

export type EntrySink = (streamKey: string, labels: Labels, timestampNs: bigint, line: string) => void;

export interface LineMeta {
  /** The stream (stdout/stderr) when the source tells them apart. */
  stream?: string;
  /** A timestamp from the container runtime, used when the line carries none of its own. */
  timestampNs?: bigint;
}

interface EntryMeta {
  stream: string | undefined;
  rank: string | undefined;
  rankScope: 'global' | 'local' | undefined;
  timestampNs: bigint | undefined;
}

/** node_rank × processes per node + local rank, when the base labels carry both. */
function globalRankOf(localRank: number, labels: Labels): number | undefined {
  const nodeRank = Number(labels.node_rank ?? labels.group_rank);
  const perNode = Number(labels.local_world_size ?? labels.nproc_per_node);
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || !Number.isInteger(perNode) || perNode <= 0 || labels.node_rank === undefined && labels.group_rank === undefined) return undefined;
  return nodeRank * perNode + localRank;
}

export class LineProcessor {
  private readonly config: ProcessingConfig;
  private readonly baseLabels: Labels;
  private readonly sink: EntrySink;
  private readonly joiner: MultilineJoiner<EntryMeta>;
  private readonly timestampOptions: TimestampOptions;
  private readonly labelsByVariant = new Map<string, { key: string; labels: Labels }>();

  constructor(config: ProcessingConfig, baseLabels: Labels, sink: EntrySink) {
    this.config = config;
    this.baseLabels = baseLabels;
    this.sink = sink;
    this.timestampOptions = { format: config.timestamp.format, timeZone: config.timestamp.timezone };
    const firstLine = config.multiline.first_line;
    this.joiner = new MultilineJoiner<EntryMeta>(
      {
        pythonTraceback: config.multiline.python_traceback,
        ...(firstLine !== undefined ? { firstLinePattern: compileRegex(firstLine).regexp } : {}),
        maxWaitMs: config.multiline.max_wait_ms,
        maxLines: config.multiline.max_lines,
      },
      (entry) => this.emit(entry),
    );
  }

  /** Processes one physical line (without its newline). `startPosition` is its offset in the source. */
  push(text: string, meta: LineMeta, nowMs: number, startPosition = 0): void {
    let line = text.endsWith('\r') && text.indexOf('\r') === text.length - 1 ? text.slice(0, -1) : text;
    let rank: string | undefined;
    let rankScope: 'global' | 'local' | undefined;
    let keptPrefix = '';
    // The prefix comes first: a launcher prefixes the line it read, which may hold `\r` redraws, and
    // each redraw may carry the prefix again (`[rank5]: 10%…\r[rank5]: 100%…`).
    for (let pass = 0; pass < 2; pass++) {
      if (this.config.rank_prefix !== 'off') {
        const prefix = splitRankPrefix(line);
        if (prefix !== undefined) {
          rank = prefix.rank;
          rankScope = prefix.scope;
          if (this.config.rank_prefix === 'keep') keptPrefix = line.slice(0, line.length - prefix.rest.length);
          line = prefix.rest;
        }
      }
      if (!this.config.collapse_carriage_returns || line.indexOf('\r') === -1) break;
      line = collapseCarriageReturns(line);
    }
    line = keptPrefix + line;
    const key = `${meta.stream ?? ''}/${rank ?? ''}`;
    this.joiner.push(key, line, { stream: meta.stream, rank, rankScope, timestampNs: meta.timestampNs }, nowMs, startPosition);
  }

  private emit(entry: JoinedEntry<EntryMeta>): void {
    const meta = entry.meta;
    // Without a stamp of its own or from the runtime, an entry takes the time it is emitted: right
    // after its last line was read for single lines, at most max_wait_ms later for multiline ones.
    const timestampNs = parseLineTimestamp(entry.text, this.timestampOptions) ?? meta.timestampNs ?? nowNs();
    let level: string | undefined;
    if (this.config.detect_level) level = detectLevel(entry.text) ?? (entry.isTraceback ? 'error' : undefined);
    const variant = `${meta.stream ?? ''}|${meta.rankScope ?? ''}${meta.rank ?? ''}|${level ?? ''}`;
    let labelled = this.labelsByVariant.get(variant);
    if (labelled === undefined) {
      const labels: Labels = { ...this.baseLabels };
      if (meta.stream !== undefined) labels.stream = meta.stream;
      if (meta.rank !== undefined && meta.rankScope === 'local') {
        // torchrun's `[defaultN]:` is the rank within the node: it becomes `local_rank`, and `rank`
        // only when the node's rank and size say which global rank it is.
        labels.local_rank = meta.rank;
        const global = globalRankOf(Number(meta.rank), this.baseLabels);
        if (global !== undefined && labels.rank === undefined) labels.rank = String(global);
      } else if (meta.rank !== undefined) labels.rank = meta.rank;
      if (level !== undefined) labels.level = level;
      labelled = { key: formatLabels(labels), labels };
      this.labelsByVariant.set(variant, labelled);
    }
    this.sink(labelled.key, labelled.labels, timestampNs, entry.text);
  }

  /** Closes multiline entries that waited `max_wait_ms` without a continuation. */
  tick(nowMs: number): void {
    this.joiner.flushExpired(nowMs);
  }

  flushAll(): void {
    this.joiner.flushAll();
  }

  pendingStartPosition(): number | undefined {
    return this.joiner.pendingStartPosition();
  }
}
