// `| unpack`: the inverse of Promtail's `pack` stage. String members of a JSON object become labels;
// the special `_entry` member replaces the log line.

import { ErrorType, sanitizeLabelKey, type PipelineStage } from './labels-builder.ts';
import { parseJsonDocument } from './json-scanner.ts';

export function unpackParserStage(): PipelineStage {
  return {
    process(entry) {
      if (entry.line.trim() === '') return true;
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
      // Only a packed entry (one with `_entry`) is unpacked; other JSON lines pass unchanged.
      const packed = document.entries.find(([key, value]) => key === '_entry' && value.type === 'string');
      if (!packed) return true;
      for (const [key, value] of document.entries) {
        if (value.type !== 'string' || key === '_entry') continue;
        entry.labels.setExtracted(sanitizeLabelKey(key, true), value.value);
      }
      entry.line = (packed[1] as { value: string }).value;
      return true;
    },
  };
}
