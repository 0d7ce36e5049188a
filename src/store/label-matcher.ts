// Stream-selector matchers, compiled once per query. Regexes are fully anchored and `.` matches
// newlines, as Prometheus/Loki do (`^(?s:re)$`). Leading Go flag groups like `(?i)` become JS flags.

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
}

/** Compiles an RE2-style pattern into an anchored JS RegExp. */
export function compileAnchoredRegex(pattern: string): RegExp {
  let flags = 's';
  let body = pattern;
  const flagGroup = /^\(\?([imsU]+)\)/.exec(body);
  if (flagGroup !== null) {
    if (flagGroup[1]!.includes('i')) flags += 'i';
    if (flagGroup[1]!.includes('m')) flags += 'm';
    body = body.slice(flagGroup[0].length);
  }
  try {
    return new RegExp(`^(?:${body})$`, flags);
  } catch (error) {
    throw new MatcherError(`invalid regex ${JSON.stringify(pattern)}: ${(error as Error).message}`);
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
      const regex = compileAnchoredRegex(matcher.value);
      matches = (value) => regex.test(value);
      break;
    }
    case '!~': {
      const regex = compileAnchoredRegex(matcher.value);
      matches = (value) => !regex.test(value);
      break;
    }
    default:
      throw new MatcherError(`unknown matcher type ${JSON.stringify((matcher as LabelMatcher).type)} for label ${matcher.name}`);
  }
  return { name: matcher.name, matches, matchesEmpty: matches('') };
}
