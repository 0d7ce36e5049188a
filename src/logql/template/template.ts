// LogQL's side of the Go-template engine (src/gotemplate/): line_format and label_format templates
// run with the entry's labels as the dot (a map[string]string: a missing label reads as ""), Loki's
// function table (functions.ts), and `__line__` / `__timestamp__` reading the entry being formatted.
// A template that would build more than the engine's limits fails the query with a 400
// (QueryLimitError), not the line.

import { Template, TemplateExecError, TemplateParseError } from '../../gotemplate/template.ts';
import { StringMap, TemplateLimitError } from '../../gotemplate/value.ts';
import { QueryLimitError } from '../api.ts';
import { createFunctionTable, type TemplateContext } from './functions.ts';

export { TemplateExecError, TemplateParseError };

export interface TemplateData {
  /** Current labels; a missing key reads as "" (missingkey=zero over map[string]string). */
  get(name: string): string | undefined;
  /** All current labels, for `{{.}}` and `{{range $k, $v := .}}`. */
  all(): Record<string, string>;
  line: string;
  timestampNs: bigint;
}

export interface CompiledTemplate {
  /** Throws TemplateExecError with Go's message, QueryLimitError past the engine's limits. */
  execute(data: TemplateData): string;
  /** A template that is exactly `{{.label}}`: the fast path returns the label's value directly. */
  singleField?: string;
  /** Whether the template reads __line__ (so the caller must keep the line available). */
  usesLine: boolean;
}

export function compileTemplate(name: string, source: string): CompiledTemplate {
  let current: TemplateContext = { line: '', timestampNs: 0n };
  const template = new Template(name, source, { functions: createFunctionTable(() => current) });
  const singleField = template.singleField();
  return {
    singleField,
    usesLine: source.includes('__line__'),
    execute(data) {
      if (singleField !== undefined) return data.get(singleField) ?? '';
      current = data;
      try {
        return template.execute(new StringMap(data.get, data.all));
      } catch (error) {
        if (error instanceof TemplateLimitError) throw new QueryLimitError(error.message);
        throw error;
      }
    },
  };
}
