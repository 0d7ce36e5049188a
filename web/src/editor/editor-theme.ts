// What the LogQL and PromQL editors share: the dark theme, and where a server-reported error
// (1-based line and column) sits in the document, clamped so a position past the end still shows.
import { EditorView } from '@codemirror/view';
import type { EditorState } from '@codemirror/state';

export interface EditorError {
  message: string;
  /** 1-based. */
  line: number;
  column: number;
}

export const queryEditorTheme = EditorView.theme(
  {
    '&': { backgroundColor: '#11151c', color: '#e0e0e0', fontSize: '13px', border: '1px solid #2a3140', borderRadius: '4px' },
    '&.cm-focused': { outline: '1px solid #4a90e2' },
    '.cm-content': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace', caretColor: '#fff', padding: '6px 0' },
    '.cm-scroller': { maxHeight: '160px' },
    '.cm-tooltip': { backgroundColor: '#1b2130', border: '1px solid #2a3140' },
    '.cm-tooltip-autocomplete ul li[aria-selected]': { backgroundColor: '#2d4f7c' },
    '.cm-lintRange-error': { textDecoration: 'underline wavy #ff5252', backgroundImage: 'none' },
  },
  { dark: true },
);

export function errorRange(state: EditorState, error: EditorError): { from: number; to: number } {
  const lineNumber = Math.min(Math.max(error.line, 1), state.doc.lines);
  const line = state.doc.line(lineNumber);
  const from = Math.min(line.from + Math.max(error.column - 1, 0), line.to);
  if (from < line.to) return { from, to: from + 1 };
  return { from: Math.max(line.from, from - 1), to: line.to };
}
