// `| pattern "<ip> - <_> [<ts>]"`.

import type { PipelineStage } from './labels-builder.ts';
import { matchPattern, parsePattern, PatternSyntaxError } from './pattern.ts';
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
  return {
    process(entry) {
      for (const [name, value] of matchPattern(pattern, entry.line)) {
        if (name !== '_' && isNeeded(needed, name)) entry.labels.setExtracted(name, value);
      }
      return true;
    },
  };
}
