// The few parts of the `vscode` API the controller, its panel and Compare Models use, as plain objects the tests
// drive and read back. Importing this file makes `require('vscode')` resolve to it (the real module exists only
// inside VS Code); import it before any module under src/ that imports vscode. Only the request 'vscode' is
// redirected, so the rest of the unit suite, which never imports vscode, is unaffected.
import Module from 'node:module';
import { parseHostMessage, PROTOCOL_VERSION } from '../../../../src/protocol';

const loader = Module as unknown as { _resolveFilename: (this: unknown, request: string, ...rest: unknown[]) => string };
const resolveFilename = loader._resolveFilename;
loader._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  return request === 'vscode' ? __filename : resolveFilename.call(this, request, ...rest);
};

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  readonly event = (listener: Listener<T>): { dispose(): void } => {
    this.listeners.add(listener);
    return {
      dispose: () => {
        this.listeners.delete(listener);
      },
    };
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export class CancellationError extends Error {
  constructor() {
    super('Canceled');
    this.name = 'Canceled';
  }
}

export class CancellationTokenSource {
  private readonly cancelled = new EventEmitter<void>();
  readonly token = { isCancellationRequested: false, onCancellationRequested: this.cancelled.event };
  cancel(): void {
    if (this.token.isCancellationRequested) return;
    this.token.isCancellationRequested = true;
    this.cancelled.fire();
  }
  dispose(): void {
    /* listeners stay: a disposed source is never cancelled again */
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: number | Position, b: number | Position, c?: number, d?: number) {
    if (typeof a === 'number') {
      this.start = new Position(a, b as number);
      this.end = new Position(c!, d!);
    } else {
      this.start = a;
      this.end = b as Position;
    }
  }
  get isEmpty(): boolean {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static parse(s: string): Uri {
    const m = /^([a-z][\w+.-]*):(.*)$/i.exec(s);
    return m ? new Uri(m[1], m[2].replace(/^\/\//, '')) : new Uri('file', s);
  }
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, [base.path, ...parts].join('/'));
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}:${this.scheme === 'file' ? '//' : ''}${this.path}`;
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}
export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
}
export enum TextEditorRevealType {
  Default = 0,
  InCenter = 1,
  InCenterIfOutsideViewport = 2,
  AtTop = 3,
}
export enum QuickPickItemKind {
  Separator = -1,
  Default = 0,
}

export const l10n = {
  t: (message: string, ...args: unknown[]): string =>
    message.replace(/\{(\d+)\}/g, (all, i: string) => (Number(i) < args.length ? String(args[Number(i)]) : all)),
};

/** A text document: offsets and positions over `text` split at '\n'. */
export class FakeDocument {
  readonly uri: Uri;
  version = 1;
  constructor(
    uri: string,
    private readonly text: string,
    readonly languageId = 'plaintext',
  ) {
    this.uri = Uri.parse(uri);
  }
  private get lines(): string[] {
    return this.text.split('\n');
  }
  offsetAt(p: Position): number {
    return this.lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  }
  positionAt(offset: number): Position {
    let line = 0;
    for (const l of this.lines) {
      if (offset <= l.length) break;
      offset -= l.length + 1;
      line++;
    }
    return new Position(line, offset);
  }
  getText(r?: Range): string {
    return r ? this.text.slice(this.offsetAt(r.start), this.offsetAt(r.end)) : this.text;
  }
  validateRange(r: Range): Range {
    return r;
  }
  lineAt(line: number): { range: Range } {
    return { range: new Range(line, 0, line, this.lines[line]?.length ?? 0) };
  }
}

/** The page side of a webview: what the host posted (checked against the protocol) and a way to answer. */
export class FakeWebview {
  options: unknown;
  readonly cspSource = 'fake-csp';
  readonly posted: unknown[] = [];
  private readonly postedEvent = new EventEmitter<unknown>();
  private readonly fromPage = new EventEmitter<unknown>();
  readonly onDidReceiveMessage = this.fromPage.event;
  private page = '';
  get html(): string {
    return this.page;
  }
  /** A new page announces itself once its script runs, as the real page does. */
  set html(v: string) {
    this.page = v;
    queueMicrotask(() => this.send({ type: 'webview/ready', protocol: PROTOCOL_VERSION }));
  }
  asWebviewUri(u: Uri): Uri {
    return u;
  }
  postMessage(msg: unknown): Promise<boolean> {
    if (!parseHostMessage(msg)) throw new Error(`the host posted a message the page would drop: ${JSON.stringify(msg)?.slice(0, 200)}`);
    this.posted.push(msg);
    this.postedEvent.fire(msg);
    return Promise.resolve(true);
  }
  /** The page sends a message to the host. */
  send(msg: unknown): void {
    this.fromPage.fire(msg);
  }
  /** The first message posted (already or later) that `match` accepts. */
  next<T = Record<string, unknown>>(match: (m: Record<string, unknown>) => boolean): Promise<T> {
    const found = this.posted.find((m) => match(m as Record<string, unknown>));
    if (found) return Promise.resolve(found as T);
    return new Promise((resolve) => {
      const sub = this.postedEvent.event((m) => {
        if (match(m as Record<string, unknown>)) {
          sub.dispose();
          resolve(m as T);
        }
      });
    });
  }
  of(type: string): Record<string, unknown>[] {
    return this.posted.filter((m) => (m as { type: string }).type === type) as Record<string, unknown>[];
  }
}

export class FakeWebviewPanel {
  readonly webview = new FakeWebview();
  iconPath: unknown;
  visible = true;
  reveals = 0;
  disposed = false;
  private readonly disposeEvent = new EventEmitter<void>();
  private readonly viewState = new EventEmitter<{ webviewPanel: FakeWebviewPanel }>();
  readonly onDidDispose = this.disposeEvent.event;
  readonly onDidChangeViewState = this.viewState.event;
  constructor(public title: string) {}
  reveal(): void {
    this.reveals++;
  }
  /** The user brings the panel's tab to the front. */
  show(): void {
    this.visible = true;
    this.viewState.fire({ webviewPanel: this });
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeEvent.fire();
  }
}

type Shown = { level: 'info' | 'warning' | 'error'; message: string };

/** What the code under test did through the API, and the answers it gets; `reset()` between tests. */
export const fake = {
  commands: [] as unknown[][],
  messages: [] as Shown[],
  logged: [] as { level: string; text: string }[],
  progress: [] as { options: { location: ProgressLocation; title?: string; cancellable?: boolean }; cts: CancellationTokenSource }[],
  panels: [] as FakeWebviewPanel[],
  documents: new Map<string, FakeDocument>(),
  selection: new EventEmitter<unknown>(),
  configuration: new EventEmitter<unknown>(),
  /** What getConfiguration(section).get(key) answers, by 'section.key'. */
  settings: {} as Record<string, unknown>,
  /** Fires for every line written to an output channel. */
  logging: new EventEmitter<{ level: string; text: string }>(),
  /** Resolves with the first line after `from` (an index into `logged`) that matches `re`. */
  logLine(re: RegExp, from = 0): Promise<string> {
    const hit = fake.logged.slice(from).find((l) => re.test(l.text));
    if (hit) return Promise.resolve(hit.text);
    return new Promise((resolve) => {
      const sub = fake.logging.event((l) => {
        if (!re.test(l.text)) return;
        sub.dispose();
        resolve(l.text);
      });
    });
  },
  reset(): void {
    fake.settings = {};
    for (const k of ['commands', 'messages', 'logged', 'progress', 'panels'] as const) fake[k].length = 0;
    fake.documents.clear();
    fake.selection.dispose();
    fake.configuration.dispose();
    fake.logging.dispose();
  },
  document(uri: string, text: string, languageId?: string): FakeDocument {
    const d = new FakeDocument(uri, text, languageId);
    fake.documents.set(d.uri.toString(), d);
    return d;
  },
};

const show =
  (level: Shown['level']) =>
  (message: string): Promise<undefined> => {
    fake.messages.push({ level, message });
    return Promise.resolve(undefined); // the user dismisses every message
  };

const channel = Object.fromEntries(
  ['trace', 'debug', 'info', 'warn', 'error'].map((level) => [
    level,
    (...a: unknown[]) => {
      const line = { level, text: a.map(String).join(' ') };
      fake.logged.push(line);
      fake.logging.fire(line);
    },
  ]),
);

export const window = {
  onDidChangeTextEditorSelection: fake.selection.event,
  visibleTextEditors: [] as unknown[],
  createTextEditorDecorationType: () => ({
    dispose() {
      /* nothing drawn */
    },
  }),
  createOutputChannel: () => ({
    ...channel,
    append() {
      /* unused */
    },
    appendLine() {
      /* unused */
    },
    show() {
      /* unused */
    },
    dispose() {
      /* unused */
    },
  }),
  showInformationMessage: show('info'),
  showWarningMessage: show('warning'),
  showErrorMessage: show('error'),
  showQuickPick: (): Promise<undefined> => Promise.resolve(undefined),
  withProgress<R>(
    options: { location: ProgressLocation; title?: string; cancellable?: boolean },
    task: (p: { report(v: unknown): void }, token: CancellationTokenSource['token']) => Promise<R>,
  ): Promise<R> {
    const cts = new CancellationTokenSource();
    fake.progress.push({ options, cts });
    return task(
      {
        report() {
          /* not read */
        },
      },
      cts.token,
    );
  },
  createWebviewPanel(_viewType: string, title: string): FakeWebviewPanel {
    const p = new FakeWebviewPanel(title);
    fake.panels.push(p);
    return p;
  },
};

export const commands = {
  executeCommand(...args: unknown[]): Promise<undefined> {
    fake.commands.push(args);
    return Promise.resolve(undefined);
  },
};

export const workspace = {
  onDidChangeConfiguration: fake.configuration.event,
  workspaceFolders: undefined,
  getConfiguration: (section?: string) => ({ get: (key: string): unknown => fake.settings[section ? `${section}.${key}` : key] }),
  openTextDocument(uri: Uri): Promise<FakeDocument> {
    const d = fake.documents.get(uri.toString());
    return d ? Promise.resolve(d) : Promise.reject(new Error(`no such document: ${uri.toString()}`));
  },
};
