// The SQL editor: CodeMirror 6 with Mosaik's SQL (PostgreSQL dialect) and completion of the
// registers' tables and columns from their public schemas. Tab leaves the editor (no keyboard trap).
// The editor owns its text: `initial` seeds it, `onChange` reports it. (Pushing the parent's state
// back in raced with typing: a stale value overwrote newer keys and the two echoed each other.)
import { useEffect, useRef } from 'preact/hooks';
import { EditorView, basicSetup } from 'codemirror';
import { PostgreSQL, sql } from '@codemirror/lang-sql';
import { Compartment, EditorState } from '@codemirror/state';

export function SqlEditor({ initial, onChange, schema, label }: { initial: string; onChange: (v: string) => void; schema: Record<string, string[]>; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const change = useRef(onChange);
  change.current = onChange;
  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: initial,
        extensions: [
          basicSetup,
          language.current.of(sql({ dialect: PostgreSQL, schema, upperCaseKeywords: true })),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) change.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
  }, []);
  // New schemas (they load after the editor) change the completion, not the text.
  useEffect(() => {
    view.current?.dispatch({ effects: language.current.reconfigure(sql({ dialect: PostgreSQL, schema, upperCaseKeywords: true })) });
  }, [JSON.stringify(schema)]);
  return <div class="editor" ref={host} />;
}
