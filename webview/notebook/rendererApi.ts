// The parts of VS Code's notebook renderer API (the `vscode-notebook-renderer` types, VS Code 1.100) this
// renderer uses, written out here so the build needs no extra package.

export interface Disposable {
  dispose(): void;
}

export interface OutputItem {
  readonly id: string;
  readonly mime: string;
  readonly metadata: unknown;
  text(): string;
  json(): unknown;
  data(): Uint8Array;
}

export interface RendererContext {
  /** Present when the extension host listens (`requiresMessaging` is "optional"): absent, e.g., where no extension host runs. */
  postMessage?(message: unknown): void;
  onDidReceiveMessage?(listener: (message: unknown) => void): Disposable;
  readonly workspace: { readonly isTrusted: boolean };
}

export interface RendererApi {
  renderOutputItem(outputItem: OutputItem, element: HTMLElement, signal: AbortSignal): void | Promise<void>;
  disposeOutputItem?(id?: string): void;
}
