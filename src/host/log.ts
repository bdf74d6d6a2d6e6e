import * as vscode from 'vscode';

// One output channel ("Headlight") for everything the extension wants a user to be able to read later:
// dropped webview messages, engine errors with their stack, timings.
let channel: vscode.LogOutputChannel | undefined;

export function log(): vscode.LogOutputChannel {
  channel ??= vscode.window.createOutputChannel('Headlight', { log: true });
  return channel;
}
