import * as vscode from 'vscode';
import { answer, PendingRequests } from '../protocol/ipc';
import {
  HOST_REQUEST_RESULT_GUARDS,
  parseWebviewMessage,
  type HostNotification,
  type HostRequestMap,
  type HostRequestMethod,
  type HostToWebview,
  type RequestMap,
  type RequestMethod,
  type WebviewNotification,
} from '../protocol/panel';
import { PROTOCOL_VERSION, type PanelState, type SessionData } from '../protocol/wire';
import { makeNonce, renderHtml } from './html';

export const PANEL_VIEW_TYPE = 'headlight.attention';

/**
 * Where the panel writes what a user may want to read later (dropped messages, the page's own log lines).
 * Passed in by the host, so src/panel/ imports nothing from src/host/ (the host imports the panel).
 */
export type PanelLog = Pick<vscode.LogOutputChannel, 'info' | 'warn' | 'error'>;

export interface PanelHandlers {
  onRequest<M extends RequestMethod>(panel: AttentionPanel, method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']>;
  onNotification(panel: AttentionPanel, msg: WebviewNotification): void;
  onDispose(panel: AttentionPanel): void;
}

/**
 * One webview panel and its message channel. Messages posted before the page says `webview/ready` are
 * queued (a webview drops what arrives before its listener exists), then flushed in order.
 */
export class AttentionPanel {
  private ready = false;
  private rebuilt = false;
  private queue: HostToWebview[] = [];
  private disposables: vscode.Disposable[] = [];
  /** The host's requests to the page (export renders), by id until the page replies. */
  private readonly asked = new PendingRequests<unknown>();
  state: PanelState | undefined;
  session: SessionData | undefined;

  static create(extensionUri: vscode.Uri, handlers: PanelHandlers, title: string, state: PanelState, column: vscode.ViewColumn, log: PanelLog): AttentionPanel {
    const panel = vscode.window.createWebviewPanel(
      PANEL_VIEW_TYPE,
      title,
      { viewColumn: column, preserveFocus: true },
      {
        enableScripts: true,
        retainContextWhenHidden: true, // the panel holds drawn canvases; rebuilding on every tab switch would flicker
        localResourceRoots: AttentionPanel.resourceRoots(extensionUri),
      },
    );
    return new AttentionPanel(panel, extensionUri, handlers, state, log);
  }

  static resourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
    return [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')];
  }

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly handlers: PanelHandlers,
    state: PanelState | undefined,
    private readonly log: PanelLog,
  ) {
    this.state = state;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'headlight.svg');
    panel.webview.options = { enableScripts: true, localResourceRoots: AttentionPanel.resourceRoots(extensionUri) };
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw) => this.receive(raw)),
      panel.onDidDispose(() => this.dispose()),
    );
    this.render({ state });
  }

  /** (Re)build the page. The webview announces `ready` again, so the queue restarts. */
  render(boot: Parameters<typeof renderHtml>[3]): void {
    this.ready = false;
    this.panel.webview.html = renderHtml(this.panel.webview, this.extensionUri, makeNonce(), boot);
  }

  post(msg: HostNotification): void {
    if (msg.type === 'session/data') {
      this.session = msg.session;
      this.state = msg.state;
    }
    if (msg.type === 'session/effects' && msg.effects && this.session?.id === msg.sessionId) this.session = { ...this.session, effects: msg.effects }; // exports and reports carry them
    if (msg.type === 'session/heads' && this.session?.id === msg.sessionId) {
      const late = {
        ...(msg.valueNorms ? { valueNorms: msg.valueNorms } : {}),
        ...(msg.valueNormsNote !== undefined ? { valueNormsNote: msg.valueNormsNote } : {}),
      };
      this.session = { ...this.session, heads: msg.heads, thumbnails: msg.thumbnails, analysing: undefined, ...late };
    }
    this.send(msg);
  }

  /**
   * Ask the page (queued like any message until it is ready); the reply's result must pass the method's guard.
   * Rejects with `timeoutError()` after `timeoutMs`, or when the panel closes first.
   */
  request<M extends HostRequestMethod>(
    method: M,
    params: HostRequestMap[M]['params'],
    timeoutMs: number,
    timeoutError: () => Error,
  ): Promise<HostRequestMap[M]['result']> {
    const check = (r: unknown) => HOST_REQUEST_RESULT_GUARDS[method](r, params);
    return this.asked.open(undefined, (id) => this.send({ type: 'request', id, method, params }), { timeoutMs, timeoutError, check }) as Promise<
      HostRequestMap[M]['result']
    >;
  }

  private send(msg: HostToWebview): void {
    if (!this.ready) {
      this.queue.push(msg);
      return;
    }
    void this.panel.webview.postMessage(msg);
  }

  private receive(raw: unknown): void {
    const msg = parseWebviewMessage(raw);
    if (!msg) {
      this.log.warn('Dropped a malformed message from the webview:', JSON.stringify(raw)?.slice(0, 200));
      return;
    }
    switch (msg.type) {
      case 'webview/ready': {
        if (msg.protocol !== PROTOCOL_VERSION) {
          // A page built for another protocol (an update under a live panel): rebuild it once from this build.
          this.log.warn(`The panel spoke protocol ${msg.protocol}, this build ${PROTOCOL_VERSION}: ${this.rebuilt ? 'giving up' : 'rebuilding the page'}.`);
          if (!this.rebuilt) {
            this.rebuilt = true;
            this.render({ state: this.state });
          }
          break;
        }
        this.ready = true;
        const pending = this.queue;
        this.queue = [];
        for (const m of pending) void this.panel.webview.postMessage(m);
        break;
      }
      case 'request':
        answer(
          msg.id,
          () => this.handlers.onRequest(this, msg.method, msg.params),
          (reply) => this.send(reply),
        );
        break;
      case 'reply':
        this.asked.settle(msg);
        break;
      case 'state/changed':
        this.state = msg.state;
        this.handlers.onNotification(this, msg);
        break;
      case 'log':
        this.log[msg.level](`[webview] ${msg.message}`);
        break;
      default:
        this.handlers.onNotification(this, msg);
    }
  }

  reveal(): void {
    this.panel.reveal(undefined, true);
  }

  dispose(): void {
    this.asked.rejectAll(() => new Error('The panel was closed.'));
    this.handlers.onDispose(this);
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
