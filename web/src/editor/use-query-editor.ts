// The CodeMirror view behind both query editors (LogQL and PromQL): built once, Ctrl/Cmd-Enter runs,
// outside changes replace the text, and the server's error is underlined at its position. Each editor
// adds its language, completion, placeholder and attributes.
import { useEffect, useRef, type RefObject } from 'react';
import { closeBrackets, closeBracketsKeymap, closeCompletion, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState, type Extension } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { errorRange, queryEditorTheme, type EditorError } from './editor-theme.ts';

export interface QueryEditorProps {
  value: string;
  onChange(value: string): void;
  onRun(value: string): void;
  error: EditorError | null;
}

/** Mounts the editor in the returned element; `extensions` is called once, when the view is built. */
export function useQueryEditor<P extends QueryEditorProps>(props: P, extensions: (latest: RefObject<P>) => Extension[]): RefObject<HTMLDivElement | null> {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // Callbacks change every render; the editor is built once and reads the latest through this ref.
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const runKeys = keymap.of([
      {
        key: 'Mod-Enter',
        run: (target) => {
          closeCompletion(target);
          latest.current.onRun(target.state.doc.toString());
          return true;
        },
      },
    ]);
    const created = new EditorView({
      state: EditorState.create({
        doc: latest.current.value,
        extensions: [
          runKeys,
          history(),
          closeBrackets(),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
          queryEditorTheme,
          EditorView.lineWrapping,
          ...extensions(latest),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) latest.current.onChange(update.state.doc.toString());
          }),
        ],
      }),
      parent: host.current!,
    });
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

  return host;
}
