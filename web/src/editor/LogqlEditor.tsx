// The LogQL editor: CodeMirror 6 with highlighting, API-backed autocomplete, Ctrl/Cmd-Enter to run and
// the server's parse error underlined at its position. Loaded lazily: CodeMirror is not in the first page.
import { useEffect, useRef } from 'react';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { EditorState } from '@codemirror/state';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { errorRange, queryEditorTheme, type EditorError } from './editor-theme.ts';
import { logql } from './logql-language.ts';
import { logqlCompletion, type LabelSource } from './logql-completion.ts';

export type { EditorError };

export interface LogqlEditorProps {
  value: string;
  onChange(value: string): void;
  onRun(value: string): void;
  labels: LabelSource;
  error: EditorError | null;
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
        queryEditorTheme,
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
