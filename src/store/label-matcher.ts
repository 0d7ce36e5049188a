// Stream-selector matchers, compiled once per query. Regexes are fully anchored and `.` matches
// newlines, as Prometheus/Loki do (`^(?s:re)$`), and run on the one RE2 implementation (src/regex),
// so no selector can take super-linear time.

import { compileRegex, RegexSyntaxError, type RegexEngine } from '../regex/index.ts';
import type { LabelMatcher } from './types.ts';

export class MatcherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MatcherError';
  }
}

export interface CompiledMatcher {
  name: string;
  matches: (value: string) => boolean;
  /** True when a stream without the label (value "") matches. */
  matchesEmpty: boolean;
  /** For `=`: the value, so an index can look it up rather than test every value. */
  equals?: string;
}

/** A regex matcher's test: RE2 `^(?s:re)$`, linear-time whatever the pattern. */
function compileMatcherRegex(pattern: string): RegexEngine {
  try {
    return compileRegex(pattern, 'matcher').regexp;
  } catch (error) {
    if (error instanceof RegexSyntaxError) throw new MatcherError(`invalid regex ${JSON.stringify(pattern)}: ${error.message}`);
    throw error;
  }
}

export function compileMatcher(matcher: LabelMatcher): CompiledMatcher {
  let matches: (value: string) => boolean;
  switch (matcher.type) {
    case '=':
      matches = (value) => value === matcher.value;
      break;
    case '!=':
      matches = (value) => value !== matcher.value;
      break;
    case '=~': {
      const regex = compileMatcherRegex(matcher.value);
      matches = (value) => regex.test(value);
      break;
    }
    case '!~': {
      const regex = compileMatcherRegex(matcher.value);
      matches = (value) => !regex.test(value);
      break;
    }
    default:
      throw new MatcherError(`unknown matcher type ${JSON.stringify((matcher as LabelMatcher).type)} for label ${matcher.name}`);
  }
  const compiled: CompiledMatcher = { name: matcher.name, matches, matchesEmpty: matches('') };
  if (matcher.type === '=') compiled.equals = matcher.value;
  return compiled;
}
