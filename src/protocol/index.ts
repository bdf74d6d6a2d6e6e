// The protocol folder's one import path for callers that want several of its parts (`from '../protocol'`):
// ipc.ts (the request/reply envelope and its bookkeeping), panel.ts (the panel's messages and guards), wire.ts
// (the data that crosses), strings.ts (the webview's string table). It re-exports; it defines nothing.
export * from './ipc';
export * from './panel';
export * from './wire';
export * from './strings';
