// The LogQL editor: CodeMirror 6 with highlighting, API-backed autocomplete, Ctrl/Cmd-Enter to run and
// the server's parse error underlined at its position. Loaded lazily: CodeMirror is not in the first page.
import { useEffect, useRef } from 'react';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { EditorState } from '@codemirror/state';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { logql } from './logql-language.ts';
import { logqlCompletion, type LabelSource } from './logql-completion.ts';

export interface EditorError {
  message: string;
  /** 1-based. */
  line: number;
  column: number;
}

export interface LogqlEditorProps {
  value: string;
  onChange(value: string): void;
  onRun(value: string): void;
  labels: LabelSource;
  error: EditorError | null;
}

const theme = EditorView.theme(
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

/** Offsets of a 1-based line/column in the document, clamped so a position past the end still shows. */
function errorRange(state: EditorState, error: EditorError): { from: number; to: number } {
  const lineNumber = Math.min(Math.max(error.line, 1), state.doc.lines);
  const line = state.doc.line(lineNumber);
  const from = Math.min(line.from + Math.max(error.column - 1, 0), line.to);
  if (from < line.to) return { from, to: from + 1 };
  return { from: Math.max(line.from, from - 1), to: line.to };
}

export default function LogqlEditor(props: LogqlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // Callbacks change every render; the editor is built once and reads the latest through this ref.
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const labels: LabelSource = { names: () => latest.current.labels.names(), values: (name) => latest.current.labels.values(name) };
    const runKeys = keymap.of([
      {
        key: 'Mod-Enter',
        run: (target) => {
          latest.current.onRun(target.state.doc.toString());
          return true;
        },
      },
    ]);
    const state = EditorState.create({
      doc: latest.current.value,
      extensions: [
        runKeys,
        history(),
        closeBrackets(),
        autocompletion({ override: [logqlCompletion(labels)], activateOnTyping: true }),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
        logql(),
        theme,
        EditorView.lineWrapping,
        placeholder('{job="train"} |= "loss"   (Ctrl/Cmd-Enter runs)'),
        EditorView.contentAttributes.of({ 'aria-label': 'LogQL query', 'data-testid': 'query-editor' }),
        // Fetch the label names as soon as the editor is focused: the name list then opens right after `{`
        // instead of a server round trip later, when it could pop up under the user's next keystroke
        // (CodeMirror ignores Enter on a list younger than its interactionDelay, 75 ms, and inserts a
        // newline instead). A failure here is not cached; the completion retries and shows the error.
        EditorView.domEventHandlers({
          focus: () => {
            labels.names().catch(() => undefined);
          },
        }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) latest.current.onChange(update.state.doc.toString());
        }),
      ],
    });
    const created = new EditorView({ state, parent: host.current! });
    view.current = created;
    return () => {
      created.destroy();
      view.current = null;
    };
  }, []);

  // Outside changes (label browser, filter clicks, URL) replace the text.
  useEffect(() => {
    const current = view.current;
    if (!current) return;
    const text = current.state.doc.toString();
    if (text !== props.value) current.dispatch({ changes: { from: 0, to: text.length, insert: props.value } });
  }, [props.value]);

  useEffect(() => {
    const current = view.current;
    if (!current) return;
    const diagnostics: Diagnostic[] = [];
    if (props.error) {
      const { from, to } = errorRange(current.state, props.error);
      diagnostics.push({ from, to, severity: 'error', message: props.error.message, source: 'server' });
    }
    current.dispatch(setDiagnostics(current.state, diagnostics));
  }, [props.error, props.value]);

  return <div ref={host} className="query-editor" />;
}
