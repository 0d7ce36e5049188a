// Label matcher checks the parser and the engine share.

import type { MetricLabelMatcher } from '../../tsdb/types.ts';
import { compileAnchoredRegex } from '../regex.ts';

/** Whether the matcher accepts an absent label (the empty value). */
export function matchesEmpty(matcher: MetricLabelMatcher): boolean {
  switch (matcher.type) {
    case '=':
      return matcher.value === '';
    case '!=':
      return matcher.value !== '';
    case '=~':
      return compileAnchoredRegex(matcher.value).matches('');
    case '!~':
      return !compileAnchoredRegex(matcher.value).matches('');
  }
}
