// `| pattern "<ip> - <_> [<ts>]"`.

import type { PipelineStage } from './labels-builder.ts';
import { parsePattern, PatternSyntaxError, type PatternNode } from './pattern.ts';
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
  return {
    // matchPattern's walk (see pattern.ts), by offsets into the line instead of slices of its rest.
    process(entry) {
      const line = entry.line;
      if (line.length === 0 || lastStored < 0) return true;
      let pos = 0;
      let index = 0;
      const first = nodes[0]!;
      if (first.kind === 'literal') {
        if (!line.startsWith(first.text)) return true;
        pos = first.text.length;
        index = 1;
      }
      while (index <= lastStored) {
        const capture = nodes[index] as { kind: 'capture'; name: string };
        const store = stores[index]!;
        if (index === nodes.length - 1) {
          if (store) entry.labels.setExtracted(capture.name, line.slice(pos));
          return true;
        }
        const literal = (nodes[index + 1] as { kind: 'literal'; text: string }).text;
        index += 2;
        const at = line.indexOf(literal, pos);
        if (at < 0) {
          if (store) entry.labels.setExtracted(capture.name, line.slice(pos));
          return true;
        }
        if (store) entry.labels.setExtracted(capture.name, line.slice(pos, at));
        pos = at + literal.length;
      }
      return true;
    },
  };
}
