import { yaml } from '@codemirror/lang-yaml';
import { setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorView, basicSetup } from 'codemirror';
import { useEffect, useRef } from 'react';
import type { WorkflowError } from '../api/types';

/** The positions of the server's located errors in this text (lines and columns from 1), for the editor's marks. */
export function diagnosticsFor(text: string, errors: readonly WorkflowError[]): Diagnostic[] {
  const lines = text.split('\n');
  const lineStart = (line: number) => lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
  return errors.map((error) => {
    const line = Math.min(Math.max(error.line, 1), lines.length);
    const length = lines[line - 1]?.length ?? 0;
    const from = lineStart(line) + Math.min(Math.max(error.column - 1, 0), length);
    const to = Math.max(from + 1, lineStart(line) + length);
    return { from, to: Math.min(to, text.length), severity: 'error', message: `${error.path}: ${error.message}` };
  });
}

/** CodeMirror 6 with YAML highlighting; `errors` are marked at their lines. */
export function YamlEditor(props: { value: string; onChange: (value: string) => void; errors: readonly WorkflowError[]; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;

  useEffect(() => {
    if (!host.current) return;
    const editor = new EditorView({
      doc: props.value,
      parent: host.current,
      extensions: [
        basicSetup,
        yaml(),
        EditorView.contentAttributes.of({ 'aria-label': props.label }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange.current(update.state.doc.toString());
        }),
      ],
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
    // The editor is made once per mount; later values arrive through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== props.value) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: props.value } });
    }
  }, [props.value]);

  useEffect(() => {
    const editor = view.current;
    if (editor) editor.dispatch(setDiagnostics(editor.state, diagnosticsFor(editor.state.doc.toString(), props.errors)));
  }, [props.errors]);

  return <div ref={host} className="editor" data-testid="yaml-editor" />;
}
