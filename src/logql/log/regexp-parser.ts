// `| regexp "(?P<name>re)"`: each named group becomes a label; no match extracts nothing.

import { compileRegex, jsGroupName, RegexSyntaxError } from '../../regex/index.ts';
import { LABEL_NAME_PATTERN } from '../../push/labels.ts';
import type { PipelineStage } from './labels-builder.ts';
import { StageBuildError } from './line-filter.ts';
import { isNeeded, type NeededLabels } from './label-hints.ts';

export function regexpParserStage(pattern: string, needed: NeededLabels = null): PipelineStage {
  let compiled;
  try {
    compiled = compileRegex(pattern);
  } catch (error) {
    if (error instanceof RegexSyntaxError) throw new StageBuildError(error.message);
    throw error;
  }
  if (compiled.groupNames.length === 0) throw new StageBuildError('at least one named capture must be supplied');
  for (const name of compiled.groupNames) {
    if (!LABEL_NAME_PATTERN.test(name)) throw new StageBuildError(`invalid extracted label name '${name}'`);
  }
  const names = compiled.groupNames.filter((name) => isNeeded(needed, name)).map((name) => [name, jsGroupName(name)] as const);
  const regexp = compiled.regexp;
  return {
    process(entry) {
      const match = regexp.exec(entry.line);
      if (!match?.groups) return true;
      for (const [name, key] of names) {
        const value = match.groups[key];
        entry.labels.setExtracted(name, value ?? '');
      }
      return true;
    },
  };
}
