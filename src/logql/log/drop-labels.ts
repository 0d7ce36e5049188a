// `| drop a, b="v", c=~"re"`: removes labels, or only those whose value matches the matcher.

import type { LabelSelection } from '../syntax/ast.ts';
import type { PipelineStage } from './labels-builder.ts';
import { compileMatcher } from './label-filter.ts';

export function dropLabelsStage(selections: LabelSelection[]): PipelineStage {
  const compiled = selections.map((s) => ({ name: s.name, test: s.matcher ? compileMatcher(s.matcher) : null }));
  const stage: PipelineStage = {
    process(entry) {
      for (const { name, test } of compiled) {
        const value = entry.labels.get(name);
        if (value === undefined) continue;
        if (test === null || test(value)) entry.labels.delete(name);
      }
      return true;
    },
  };
  // Labels only: the line need not be decoded.
  stage.processRaw = stage.process;
  return stage;
}
