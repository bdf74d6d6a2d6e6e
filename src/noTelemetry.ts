// onnxruntime 1.29+ carries telemetry on Linux and macOS unless ORT_DISABLE_TELEMETRY=1 is in the real
// process environment before the runtime initialises. Only the main thread's process.env is the real
// environment (assigning to it calls setenv); a worker's `env` option or its own process.env is a copy
// that native code never reads. So the extension host and the CLI import this module first, before any
// module that loads onnxruntime-node or starts a worker. No `vscode` here: the CLI shares it.
export const TELEMETRY_ENV = 'ORT_DISABLE_TELEMETRY';

export function disableOrtTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  env[TELEMETRY_ENV] = '1';
}

disableOrtTelemetry();
