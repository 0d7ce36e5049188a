// The LogQL editor: CodeMirror 6 with highlighting, API-backed autocomplete, Ctrl/Cmd-Enter to run and
// the server's parse error underlined at its position. Loaded lazily: CodeMirror is not in the first page.
import { autocompletion } from '@codemirror/autocomplete';
import { EditorView, placeholder } from '@codemirror/view';
import type { EditorError } from './editor-theme.ts';
import { logql } from './logql-language.ts';
import { logqlCompletion, type LabelSource } from './logql-completion.ts';
import { useQueryEditor, type QueryEditorProps } from './use-query-editor.ts';

export type { EditorError };

export interface LogqlEditorProps extends QueryEditorProps {
  labels: LabelSource;
}

export default function LogqlEditor(props: LogqlEditorProps) {
  const host = useQueryEditor(props, (latest) => {
    const labels: LabelSource = { names: () => latest.current.labels.names(), values: (name) => latest.current.labels.values(name) };
    return [
      autocompletion({ override: [logqlCompletion(labels)], activateOnTyping: true }),
      logql(),
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
    ];
  });
  return <div ref={host} className="query-editor" />;
}
