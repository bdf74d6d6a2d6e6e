// Where Headlight can run a model: the platforms onnxruntime-node 1.30 ships a binary for, which are the
// platform packages `npm run package` builds (scripts/package.mjs). No `vscode` here: a pure function of
// process.platform / process.arch, tested on every machine.
export const SUPPORTED_TARGETS: readonly string[] = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];

/** A message for the user when this machine cannot run models, or undefined when it can. */
export function unsupportedPlatformMessage(platform: string, arch: string): string | undefined {
  const target = `${platform}-${arch}`;
  if (SUPPORTED_TARGETS.includes(target)) return undefined;
  const dumps = 'Attention dumps computed elsewhere (Headlight: Open Attention Dump…) still open here.';
  if (target === 'darwin-x64') {
    return `Headlight cannot run models on an Intel Mac: onnxruntime-node 1.30 ships no macOS x64 binary (Apple-silicon Macs are supported). ${dumps}`;
  }
  return `Headlight cannot run models on ${target}: onnxruntime-node 1.30 ships binaries for ${SUPPORTED_TARGETS.join(', ')} only. ${dumps}`;
}
