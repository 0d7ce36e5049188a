// `| regexp "(?P<name>re)"`: each named group becomes a label; no match extracts nothing (and sets no
// error, as in Loki).
//
// Only the groups the rest of the query reads (label-hints.ts) are extracted: the regex is compiled
// with just those capturing, and their values are read by group number, so a match builds no groups
// object and no string for an unread group. When no group is read the stage cannot change anything
// a later stage sees, so it is left out and the regex never runs.

import { compileCaptureSubset, compileRegex, RegexSyntaxError, type CompiledRegex } from '../../regex/index.ts';
import { LABEL_NAME_PATTERN } from '../../push/labels.ts';
import type { PipelineStage } from './labels-builder.ts';
import { StageBuildError } from './line-filter.ts';
import { isNeeded, type NeededLabels } from './label-hints.ts';

export function regexpParserStage(pattern: string, needed: NeededLabels = null): PipelineStage | null {
  const compiled = compileOrThrow(() => compileRegex(pattern));
  if (compiled.groupNames.length === 0) throw new StageBuildError('at least one named capture must be supplied');
  const seen = new Set<string>();
  for (const name of compiled.groupNames) {
    if (!LABEL_NAME_PATTERN.test(name)) throw new StageBuildError(`invalid extracted label name '${name}'`);
    if (seen.has(name)) throw new StageBuildError(`duplicate extracted label name '${name}'`);
    seen.add(name);
  }
  const names = compiled.groupNames.filter((name) => isNeeded(needed, name));
  if (names.length === 0) return null;
  const subset = compileOrThrow(() => compileCaptureSubset(pattern, names));
  const groups = names.map((name) => subset.parsed.captureNames.indexOf(name));
  const regexp = subset.regexp;
  return {
    process(entry) {
      const match = regexp.captures(entry.line);
      if (match === null) return true;
      for (let i = 0; i < names.length; i++) entry.labels.setExtracted(names[i]!, match[groups[i]!] ?? '');
      return true;
    },
  };
}

function compileOrThrow(compile: () => CompiledRegex): CompiledRegex {
  try {
    return compile();
  } catch (error) {
    if (error instanceof RegexSyntaxError) throw new StageBuildError(error.message);
    throw error;
  }
}
