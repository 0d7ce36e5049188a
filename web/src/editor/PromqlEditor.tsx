// The PromQL editor: CodeMirror 6 with Prometheus' own language package (@prometheus-io/codemirror-promql):
// highlighting, linting, and autocomplete of functions, metric names and labels from this server's
// Prometheus API. Ctrl/Cmd-Enter runs; the server's parse error is underlined at its position.
import { useEffect, useRef } from 'react';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { EditorState } from '@codemirror/state';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { autocompletion, closeBrackets, closeBracketsKeymap, closeCompletion, completionKeymap } from '@codemirror/autocomplete';
import { syntaxHighlighting } from '@codemirror/language';
import { setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { tenantHeaders } from '../api/prometheus-client.ts';
import { errorRange, queryEditorTheme, type EditorError } from './editor-theme.ts';
import { queryHighlight } from './logql-language.ts';

export interface PromqlEditorProps {
  value: string;
  onChange(value: string): void;
  onRun(value: string): void;
  error: EditorError | null;
}

export default function PromqlEditor(props: PromqlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const promql = new PromQLExtension().setComplete({
      remote: {
        url: window.location.origin,
        // The tenant is read on every request, so switching it in the top bar takes effect at once.
        fetchFn: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...tenantHeaders() } }),
        cache: { maxAge: 60_000 },
      },
    });
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
          autocompletion({ activateOnTyping: true }),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
          promql.asExtension(),
          syntaxHighlighting(queryHighlight),
          queryEditorTheme,
          EditorView.lineWrapping,
          placeholder('sum by (rank) (rate(DCGM_FI_DEV_GPU_UTIL[5m]))   (Ctrl/Cmd-Enter runs)'),
          EditorView.contentAttributes.of({ 'aria-label': 'PromQL query', 'data-testid': 'promql-editor' }),
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
