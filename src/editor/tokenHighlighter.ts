import * as vscode from 'vscode';

// Decorations for "where is this token in my editor": the hovered token gets a strong outline and the
// tokens it attends to get a background whose strength follows the weight. Weights are bucketed because
// a decoration type carries one fixed colour; five steps read as a gradient.
const BUCKETS = 5;

export interface ExplainedRange {
  uri: string;
  /** Document offset of the explained selection's start: token spans are relative to it. */
  baseOffset: number;
  /** Document version the spans are valid for; later edits make them stale. */
  version: number;
  spans: { start: number; end: number }[];
}

export class TokenHighlighter implements vscode.Disposable {
  private readonly focus = vscode.window.createTextEditorDecorationType({
    borderWidth: '1px',
    borderStyle: 'solid',
    borderColor: new vscode.ThemeColor('editor.findMatchBorder'),
    backgroundColor: new vscode.ThemeColor('editor.findMatchBackground'),
  });
  private readonly weights = Array.from({ length: BUCKETS }, (_, b) =>
    vscode.window.createTextEditorDecorationType({
      // theme colour with opacity: opacity grows with the bucket
      backgroundColor: new vscode.ThemeColor('editor.findMatchHighlightBackground'),
      opacity: String(0.35 + (0.65 * (b + 1)) / BUCKETS),
      borderRadius: '2px',
      border: b === BUCKETS - 1 ? '1px dotted' : undefined,
      borderColor: new vscode.ThemeColor('editor.findMatchHighlightBorder'),
    }),
  );

  /** Last decorated ranges, per kind, for tests and for clearing. */
  lastFocus: vscode.Range | undefined;

  highlight(target: ExplainedRange, query: number | null, keys: { index: number; weight: number }[]): void {
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === target.uri);
    if (!editor) return;
    this.clearEditor(editor);
    if (query === null || editor.document.version !== target.version) {
      this.lastFocus = undefined;
      return;
    }
    const doc = editor.document;
    const toRange = (i: number): vscode.Range | undefined => {
      const s = target.spans[i];
      if (!s || s.start < 0) return undefined;
      return new vscode.Range(doc.positionAt(target.baseOffset + s.start), doc.positionAt(target.baseOffset + s.end));
    };
    const focus = toRange(query);
    if (!focus) {
      this.lastFocus = undefined;
      return;
    }
    const byBucket: vscode.Range[][] = Array.from({ length: BUCKETS }, () => []);
    for (const k of keys) {
      if (k.index === query) continue;
      const r = toRange(k.index);
      if (!r) continue;
      const b = Math.min(BUCKETS - 1, Math.max(0, Math.floor(k.weight * BUCKETS)));
      byBucket[b].push(r);
    }
    editor.setDecorations(this.focus, [focus]);
    this.weights.forEach((t, b) => editor.setDecorations(t, byBucket[b]));
    this.lastFocus = focus;
    if (!editor.visibleRanges.some((v) => v.contains(focus))) {
      editor.revealRange(focus, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
  }

  clear(): void {
    for (const e of vscode.window.visibleTextEditors) this.clearEditor(e);
    this.lastFocus = undefined;
  }

  private clearEditor(editor: vscode.TextEditor): void {
    editor.setDecorations(this.focus, []);
    for (const t of this.weights) editor.setDecorations(t, []);
  }

  /** The token under a document offset, or null (a linear scan: 1,024 comparisons per cursor move). */
  static tokenAt(target: ExplainedRange, offset: number): number | null {
    const rel = offset - target.baseOffset;
    for (let i = 0; i < target.spans.length; i++) {
      const s = target.spans[i];
      if (s.start >= 0 && rel >= s.start && rel < s.end) return i;
    }
    return null;
  }

  dispose(): void {
    this.focus.dispose();
    for (const t of this.weights) t.dispose();
  }
}
