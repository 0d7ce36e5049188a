// `| keep a, b="v"`: keeps only the listed labels (stream labels included). `__error__` and
// `__error_details__` always stay, so errors can't be hidden by accident.

import type { LabelSelection } from '../syntax/ast.ts';
import { ERROR_DETAILS_LABEL, ERROR_LABEL, type PipelineStage } from './labels-builder.ts';
import { compileMatcher } from './label-filter.ts';

export function keepLabelsStage(selections: LabelSelection[]): PipelineStage {
  const compiled = selections.map((s) => ({ name: s.name, test: s.matcher ? compileMatcher(s.matcher) : null }));
  const stage: PipelineStage = {
    process(entry) {
      for (const [name, value] of entry.labels.entries()) {
        if (name === ERROR_LABEL || name === ERROR_DETAILS_LABEL) continue;
        const keep = compiled.some((c) => c.name === name && (c.test === null || c.test(value)));
        if (!keep) entry.labels.delete(name);
      }
      return true;
    },
  };
  // Labels only: the line need not be decoded.
  stage.processRaw = stage.process;
  return stage;
}
