// `| decolorize`: strips ANSI escape sequences (colour codes and other CSI/OSC sequences).

import type { PipelineStage } from './labels-builder.ts';

// The classic strip-ansi expression. Every quantifier is bounded by a character class that excludes
// what follows, so it cannot backtrack badly.
const ANSI_SEQUENCE =
  /[\u001B\u009B][[\]()#;?]*(?:(?:(?:(?:;[-a-zA-Z\d/#&.:=?%@~_]+)*|[a-zA-Z\d]+(?:;[-a-zA-Z\d/#&.:=?%@~_]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PR-TZcf-ntqry=><~]))/g;

export function decolorize(line: string): string {
  if (!line.includes('\u001B') && !line.includes('\u009B')) return line;
  return line.replace(ANSI_SEQUENCE, '');
}

export function decolorizeStage(): PipelineStage {
  return {
    process(entry) {
      entry.line = decolorize(entry.line);
      return true;
    },
  };
}
