// Which parsed labels the rest of a query reads (Loki's parser hints). A metric query that groups
// `by (…)` only ever looks at those labels, the unwrapped one and the ones its label filters and
// drop/keep stages name: the parsers then skip every other key instead of building its string and
// storing it. Templates may read any label, so a line_format or label_format stage turns hints off.

import type { LabelFilter, Stage } from '../syntax/ast.ts';
import { ERROR_DETAILS_LABEL, ERROR_LABEL } from './labels-builder.ts';

/** Null when every label may matter. */
export type NeededLabels = ReadonlySet<string> | null;

export function neededLabels(stages: Stage[], groupBy: string[], unwrap?: { label: string; postFilters: LabelFilter[] }): NeededLabels {
  // A parsed key named __error__ (or __error_details__) reads as an error downstream, so parsers
  // always store those.
  const names = new Set<string>([...groupBy, ERROR_LABEL, ERROR_DETAILS_LABEL]);
  const add = (name: string) => {
    names.add(name);
    // A parser stores a key that shadows a stream label as `<key>_extracted`.
    if (name.endsWith('_extracted')) names.add(name.slice(0, -'_extracted'.length));
  };
  const visit = (filter: LabelFilter): void => {
    if (filter.kind === 'and' || filter.kind === 'or') {
      visit(filter.left);
      visit(filter.right);
    } else {
      add(filter.kind === 'string' ? filter.matcher.name : filter.name);
    }
  };
  for (const stage of stages) {
    if (stage.kind === 'lineFormat' || stage.kind === 'labelFormat') return null;
    if (stage.kind === 'labelFilter') visit(stage.filter);
    if (stage.kind === 'drop' || stage.kind === 'keep') for (const selection of stage.labels) add(selection.name);
  }
  if (unwrap) {
    add(unwrap.label);
    for (const filter of unwrap.postFilters) visit(filter);
  }
  for (const name of [...names]) add(name);
  return names;
}

/** Whether a parser must store a label it found under this (sanitized) name. */
export function isNeeded(needed: NeededLabels, name: string): boolean {
  return needed === null || needed.has(name);
}
