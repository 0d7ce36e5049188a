// `| pattern "<ip> - <_> [<ts>]"`.

import type { PipelineEntry, PipelineStage } from './labels-builder.ts';
import { parsePattern, PatternSyntaxError, walkCaptures, type PatternNode } from './pattern.ts';
import { StageBuildError } from './line-filter.ts';
import { isNeeded, type NeededLabels } from './label-hints.ts';

export function patternParserStage(text: string, needed: NeededLabels = null): PipelineStage {
  let pattern;
  try {
    pattern = parsePattern(text);
  } catch (error) {
    if (error instanceof PatternSyntaxError) throw new StageBuildError(error.message);
    throw error;
  }
  if (pattern.names.length === 0) throw new StageBuildError('at least one capture is required: invalid expression');
  const nodes: PatternNode[] = pattern.nodes;
  // Captures past the last one the query keeps need no matching: `<_>` and unneeded ones store nothing.
  const stores = nodes.map((node) => node.kind === 'capture' && node.name !== '_' && isNeeded(needed, node.name));
  const lastStored = stores.lastIndexOf(true);
  let current: PipelineEntry | null = null;
  let line: Buffer = Buffer.alloc(0);
  const store = (node: number, start: number, end: number) => {
    if (stores[node]) current!.labels.setExtracted((nodes[node] as { kind: 'capture'; name: string }).name, line.toString('utf8', start, end));
  };
  const walk = (entry: PipelineEntry, bytes: Buffer, start: number, end: number) => {
    if (lastStored < 0) return true;
    current = entry;
    line = bytes;
    walkCaptures(pattern, bytes, start, end, lastStored, store);
    return true;
  };
  return {
    process(entry) {
      const bytes = Buffer.from(entry.line, 'utf8');
      return walk(entry, bytes, 0, bytes.length);
    },
    processRaw: walk,
  };
}
