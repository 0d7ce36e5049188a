// The one place PromQL reaches the RE2 implementation (label matchers, label_replace). Everything in
// src/promql goes through these two functions, so switching to another RE2 module is one import here.

import { compileRegex, RegexSyntaxError } from '../regex/index.ts';

export { RegexSyntaxError };

export interface AnchoredRegex {
  /** Does the regex match the whole value (Prometheus anchors matcher and label_replace regexes). */
  matches(value: string): boolean;
  /** Capture groups of a whole-value match (index 0 is the match), or null. */
  captures(value: string): RegExpExecArray | null;
  /** Names of `(?P<name>…)` groups, in order; index i is group i + 1 when all groups are named. */
  groupNames: string[];
}

/** Compiles RE2 text, fully anchored. Throws RegexSyntaxError on bad syntax. */
export function compileAnchoredRegex(source: string): AnchoredRegex {
  // Prometheus compiles matchers and label_replace regexes as `^(?s:re)$`.
  const compiled = compileRegex(source, 'matcher');
  return {
    matches: (value) => {
      compiled.regexp.lastIndex = 0;
      return compiled.regexp.test(value);
    },
    captures: (value) => {
      compiled.regexp.lastIndex = 0;
      return compiled.regexp.exec(value);
    },
    groupNames: compiled.groupNames,
  };
}
