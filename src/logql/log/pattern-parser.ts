// `| pattern "<ip> - <_> [<ts>]"`.

import type { PipelineStage } from './labels-builder.ts';
import { matchPattern, parsePattern, PatternSyntaxError } from './pattern.ts';
import { StageBuildError } from './line-filter.ts';

export function patternParserStage(text: string): PipelineStage {
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
        if (name !== '_') entry.labels.setExtracted(name, value);
      }
      return true;
    },
  };
}
