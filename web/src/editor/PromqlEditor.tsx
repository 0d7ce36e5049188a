// The PromQL editor: CodeMirror 6 with Prometheus' own language package (@prometheus-io/codemirror-promql):
// highlighting, linting, and autocomplete of functions, metric names and labels from this server's
// Prometheus API. Ctrl/Cmd-Enter runs; the server's parse error is underlined at its position.
import { autocompletion } from '@codemirror/autocomplete';
import { syntaxHighlighting } from '@codemirror/language';
import { EditorView, placeholder } from '@codemirror/view';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { tenantHeaders } from '../api/prometheus-client.ts';
import { queryHighlight } from './logql-language.ts';
import { useQueryEditor, type QueryEditorProps } from './use-query-editor.ts';

export type PromqlEditorProps = QueryEditorProps;

export default function PromqlEditor(props: PromqlEditorProps) {
  const host = useQueryEditor(props, () => {
    const promql = new PromQLExtension().setComplete({
      remote: {
        url: window.location.origin,
        // The tenant is read on every request, so switching it in the top bar takes effect at once.
        fetchFn: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...tenantHeaders() } }),
        cache: { maxAge: 60_000 },
      },
    });
    return [
      autocompletion({ activateOnTyping: true }),
      promql.asExtension(),
      syntaxHighlighting(queryHighlight),
      placeholder('sum by (rank) (rate(DCGM_FI_DEV_GPU_UTIL[5m]))   (Ctrl/Cmd-Enter runs)'),
      EditorView.contentAttributes.of({ 'aria-label': 'PromQL query', 'data-testid': 'promql-editor' }),
    ];
  });
  return <div ref={host} className="query-editor" />;
}
