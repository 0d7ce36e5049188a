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
  const store = (node: number, start: number, end: number) => {
    if (stores[node]) current!.labels.setExtracted((nodes[node] as { kind: 'capture'; name: string }).name, current!.line.slice(start, end));
  };
  return {
    process(entry) {
      if (lastStored < 0) return true;
      current = entry;
      walkCaptures(pattern, entry.line, lastStored, store);
      return true;
    },
  };
}
