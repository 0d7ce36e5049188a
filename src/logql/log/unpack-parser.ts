// `| unpack`: the inverse of Promtail's `pack` stage. String members of a JSON object become labels;
// the special `_entry` member replaces the log line.

import { ErrorType, type PipelineStage } from './labels-builder.ts';
import { parseJsonDocument } from './json-scanner.ts';

export function unpackParserStage(): PipelineStage {
  return {
    process(entry) {
      let document;
      try {
        document = parseJsonDocument(entry.line);
      } catch (error) {
        entry.labels.setError(ErrorType.json, (error as Error).message);
        return true;
      }
      if (document.type !== 'object') {
        entry.labels.setError(ErrorType.json, 'expecting json object(6), but it is not');
        return true;
      }
      let line: string | undefined;
      for (const [key, value] of document.entries) {
        if (value.type !== 'string') continue;
        if (key === '_entry') {
          line = value.value;
          continue;
        }
        entry.labels.setExtracted(key, value.value);
      }
      if (line !== undefined) entry.line = line;
      return true;
    },
  };
}
