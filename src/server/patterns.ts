// Log patterns for `/loki/api/v1/patterns` (Logs Drilldown's "Patterns" tab): lines are clustered the
// way Loki's pattern ingester (a Drain variant) does — same token count, mostly equal tokens at the
// same positions — and the tokens that differ become `<_>`. Each pattern carries its count per step
// bucket and the dominant level. We mine a sample of recent matching lines at query time instead of
// keeping a pattern ingester, so counts are those of the sample.

import { detectLevelOfLine, DETECTED_LEVEL } from '../ingest/level-detection.ts';
import type { StreamResult } from '../logql/api.ts';

export interface PatternResult {
  pattern: string;
  /** [unix seconds of the bucket start, lines in the bucket], ascending. */
  samples: Array<[number, number]>;
  level: string;
  total: number;
}

const WILDCARD = '<_>';
/** Share of a cluster's constant tokens a line must match to join it (Drain's similarity threshold). */
const MIN_SIMILARITY = 0.3;
/** Tokens (words and separators) compared per line; the tail beyond is a wildcard. */
const MAX_TOKENS = 256;
/** Clusters compared per (level, token count) group before a line starts a new one. */
const MAX_CLUSTERS_PER_GROUP = 300;

interface Cluster {
  tokens: string[];
  level: string;
  bucketCounts: Map<number, number>;
  total: number;
}

/**
 * Splits a line into word runs and the separators between them (spaces, quotes, `=`, `:`, braces…),
 * keeping every character so a pattern reads like the line and works in a `|>` pattern filter. A word
 * with a digit is variable from the start (numbers, ids, timestamps, hex), as Drain's preprocessing
 * masks them. Past MAX_TOKENS the rest of the line is one wildcard.
 */
export function tokenizeLine(line: string): string[] {
  const tokens: string[] = [];
  for (const match of line.matchAll(/[\p{L}\p{N}_.\-]+|\s+|[^\p{L}\p{N}_.\-\s]/gu)) {
    if (tokens.length >= MAX_TOKENS) {
      tokens.push(WILDCARD);
      break;
    }
    const token = match[0];
    tokens.push(/\d/.test(token) ? WILDCARD : token);
  }
  return tokens;
}

/** Words carry the similarity; separators would make every pair of lines look alike. */
const WORD = /[\p{L}\p{N}_]/u;

function similarity(template: string[], tokens: string[]): number {
  let constant = 0;
  let equal = 0;
  for (let i = 0; i < template.length; i++) {
    const token = template[i]!;
    if (token === WILDCARD || !WORD.test(token)) continue;
    constant++;
    if (token === tokens[i]) equal++;
  }
  return constant === 0 ? 1 : equal / constant;
}

/** Patterns of the sampled entries, most frequent first. `stepMs` buckets the counts. */
export function minePatterns(streams: StreamResult[], stepMs: number, limit: number): PatternResult[] {
  const groups = new Map<string, Cluster[]>();
  const step = BigInt(Math.max(1, Math.round(stepMs))) * 1_000_000n;
  for (const stream of streams) {
    for (const entry of stream.entries) {
      const tokens = tokenizeLine(entry.line);
      if (tokens.length === 0) continue;
      const level = entry.structuredMetadata?.[DETECTED_LEVEL] ?? stream.labels[DETECTED_LEVEL] ?? detectLevelOfLine(entry.line);
      const key = `${level}\u0000${tokens.length}`;
      let clusters = groups.get(key);
      if (clusters === undefined) {
        clusters = [];
        groups.set(key, clusters);
      }
      let best: Cluster | undefined;
      let bestScore = MIN_SIMILARITY;
      for (const cluster of clusters) {
        const score = similarity(cluster.tokens, tokens);
        if (score >= bestScore) {
          best = cluster;
          bestScore = score;
          if (score === 1) break;
        }
      }
      if (best === undefined) {
        if (clusters.length >= MAX_CLUSTERS_PER_GROUP) continue;
        best = { tokens, level, bucketCounts: new Map(), total: 0 };
        clusters.push(best);
      } else {
        for (let i = 0; i < best.tokens.length; i++) if (best.tokens[i] !== tokens[i]) best.tokens[i] = WILDCARD;
      }
      const bucketMs = Number((entry.timestampNs / step) * step / 1_000_000n);
      best.bucketCounts.set(bucketMs, (best.bucketCounts.get(bucketMs) ?? 0) + 1);
      best.total++;
    }
  }
  // Clusters whose templates ended up equal (e.g. merged from different sides) become one pattern.
  const patterns = new Map<string, PatternResult & { buckets: Map<number, number> }>();
  for (const clusters of groups.values()) {
    for (const cluster of clusters) {
      // Adjacent wildcards would be consecutive captures, which a `|>` pattern rejects.
      const text = cluster.tokens.join('').replace(/(?:<_>)+/g, WILDCARD);
      const key = `${cluster.level}\u0000${text}`;
      let pattern = patterns.get(key);
      if (pattern === undefined) {
        pattern = { pattern: text, samples: [], level: cluster.level, total: 0, buckets: new Map() };
        patterns.set(key, pattern);
      }
      pattern.total += cluster.total;
      for (const [bucketMs, count] of cluster.bucketCounts) pattern.buckets.set(bucketMs, (pattern.buckets.get(bucketMs) ?? 0) + count);
    }
  }
  return [...patterns.values()]
    .sort((a, b) => b.total - a.total || (a.pattern < b.pattern ? -1 : 1))
    .slice(0, limit)
    .map(({ pattern, level, total, buckets }) => ({
      pattern,
      level,
      total,
      samples: [...buckets].sort((a, b) => a[0] - b[0]).map(([bucketMs, count]): [number, number] => [bucketMs / 1000, count]),
    }));
}
