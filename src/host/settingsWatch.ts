import * as vscode from 'vscode';

/** The settings an explain reads (the model choice and its limits). */
export const EXPLAIN_SETTINGS = ['model', 'modelPath', 'tokenizerPath', 'maxTokens', 'executionProviders'] as const;

/** Their values now, as one comparable string. */
function explainSettings(): string {
  const cfg = vscode.workspace.getConfiguration('headlight');
  return JSON.stringify(EXPLAIN_SETTINGS.map((k) => cfg.get<unknown>(k) ?? null));
}

/**
 * Calls `changed` once the settings an explain reads differ from those of the last explain (`explaining()`).
 * Select Model writes up to five keys one after another, each a round trip in a remote window, and VS Code
 * announces the values again when it reloads the settings file it wrote: reacting to each event explained the
 * panel once per intermediate state and again seconds later, revealing it over a picker opened meanwhile.
 */
export class ExplainSettingsWatch implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private writing = 0;
  private explainedWith: string | undefined;
  private readonly sub: vscode.Disposable;

  constructor(
    private readonly changed: () => void,
    private readonly log: (why: string) => void,
  ) {
    this.sub = vscode.workspace.onDidChangeConfiguration((e) => {
      if (EXPLAIN_SETTINGS.some((k) => e.affectsConfiguration(`headlight.${k}`))) this.schedule();
    });
  }

  /** An explain starts with the settings as they are now. */
  explaining(): void {
    this.explainedWith = explainSettings();
  }

  /** Settings written one after another: nothing is explained before the last of them is written. */
  async batch<T>(write: () => Promise<T>): Promise<T> {
    this.writing++;
    try {
      return await write();
    } finally {
      if (--this.writing === 0) this.schedule();
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    // Events of one write arrive together; a short delay lets them settle into one check.
    this.timer = setTimeout(() => {
      if (this.writing) return this.log('Settings are being written: explaining after the last of them.');
      if (explainSettings() === this.explainedWith) return this.log('Settings event with the values the panel was explained with: not explaining again.');
      this.changed();
    }, 150);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.sub.dispose();
  }
}
