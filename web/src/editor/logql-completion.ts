// Autocomplete for LogQL: label names and values come from the API (cached per editor), pipeline stages
// and functions from fixed lists. The context is read from the text before the cursor.
import { startCompletion, type CompletionContext, type CompletionResult, type Completion } from '@codemirror/autocomplete';
import type { EditorView } from '@codemirror/view';

export interface LabelSource {
  names(): Promise<string[]>;
  values(name: string): Promise<string[]>;
}

const PIPELINE_STAGES = ['json', 'logfmt', 'pattern', 'regexp', 'unpack', 'unwrap', 'line_format', 'label_format', 'decolorize', 'drop', 'keep'];
const RANGE_FUNCTIONS = [
  'count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'avg_over_time', 'sum_over_time', 'min_over_time',
  'max_over_time', 'stddev_over_time', 'stdvar_over_time', 'quantile_over_time', 'first_over_time',
  'last_over_time', 'absent_over_time', 'rate_counter',
];
const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'sort', 'sort_desc'];

/** Depth of unclosed `{` before the cursor, ignoring quoted text; > 0 means inside a selector. */
function insideSelector(text: string): boolean {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote !== '') {
      if (char === '\\' && quote === '"') i++;
      else if (char === quote) quote = '';
      continue;
    }
    if (char === '"' || char === '`') quote = char;
    else if (char === '{') depth++;
    else if (char === '}') depth = Math.max(0, depth - 1);
  }
  return depth > 0;
}

function escapeForString(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** Inserts `name=""` with the cursor between the quotes, then offers that label's values at once. */
function applyLabelName(view: EditorView, completion: Completion, from: number, to: number): void {
  const closed = view.state.sliceDoc(to, to + 1) === '"';
  const insert = `${completion.label}=${closed ? '"' : '""'}`;
  view.dispatch({ changes: { from, to, insert }, selection: { anchor: from + completion.label.length + 2 }, userEvent: 'input.complete' });
  startCompletion(view);
}

/** Inserts the value and steps past the closing quote, adding it when missing. */
function applyLabelValue(view: EditorView, completion: Completion, from: number, to: number): void {
  const text = escapeForString(completion.label);
  const closed = view.state.sliceDoc(to, to + 1) === '"';
  view.dispatch({
    changes: { from, to, insert: closed ? text : `${text}"` },
    selection: { anchor: from + text.length + 1 },
    userEvent: 'input.complete',
  });
}

/** A completion list that says why there is nothing to complete; choosing it changes nothing. */
function unavailable(from: number, what: string, error: unknown): CompletionResult {
  const message = error instanceof Error ? error.message : String(error);
  return { from, options: [{ label: `${what} unavailable: ${message}`, type: 'text', apply: () => undefined }], filter: false };
}

export function logqlCompletion(source: LabelSource) {
  const complete = completeFrom(source);
  return async (context: CompletionContext): Promise<CompletionResult | null> => {
    try {
      return await complete(context);
    } catch (error) {
      return unavailable(context.pos, 'label names and values', error);
    }
  };
}

function completeFrom(source: LabelSource) {
  return async (context: CompletionContext): Promise<CompletionResult | null> => {
    const before = context.state.sliceDoc(Math.max(0, context.pos - 500), context.pos);

    const valueContext = /([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/.exec(before);
    if (valueContext && insideSelector(before)) {
      const values = await source.values(valueContext[1]);
      const typed = valueContext[3];
      const options: Completion[] = values.map((value) => ({ label: value, apply: applyLabelValue, type: 'text' }));
      return { from: context.pos - typed.length, options, validFor: /^[^"]*$/ };
    }

    const nameContext = /(?:[{,]\s*)([A-Za-z_][A-Za-z0-9_]*)?$/.exec(before);
    if (nameContext && insideSelector(before)) {
      const names = await source.names();
      const typed = nameContext[1] ?? '';
      return {
        from: context.pos - typed.length,
        options: names.map((name) => ({ label: name, apply: applyLabelName, type: 'property' })),
        validFor: /^[A-Za-z0-9_]*$/,
      };
    }

    const stageContext = /\|\s*([a-z_]*)$/.exec(before);
    if (stageContext) {
      const typed = stageContext[1];
      return { from: context.pos - typed.length, options: PIPELINE_STAGES.map((stage) => ({ label: stage, type: 'keyword' })), validFor: /^[a-z_]*$/ };
    }

    const word = context.matchBefore(/[a-z_]+$/);
    if (word && (word.from === 0 || /[\s(]$/.test(context.state.sliceDoc(word.from - 1, word.from)))) {
      const options: Completion[] = [
        ...RANGE_FUNCTIONS.map((name) => ({ label: name, apply: `${name}(`, type: 'function', detail: 'range' })),
        ...AGGREGATIONS.map((name) => ({ label: name, type: 'function', detail: 'aggregation' })),
      ];
      return { from: word.from, options, validFor: /^[a-z_]*$/ };
    }
    if (context.explicit) {
      const names = await source.names();
      return { from: context.pos, options: [{ label: '{', apply: '{', type: 'text', detail: 'stream selector' }, ...names.map((name) => ({ label: `{${name}="`, type: 'property' }))] };
    }
    return null;
  };
}
