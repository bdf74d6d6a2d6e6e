// The tree-sitter grammars VS Code itself ships (@vscode/tree-sitter-wasm), loaded from the extension's
// own node_modules on first use of their language — never from the network. The runtime (tree-sitter.js
// + tree-sitter.wasm) is initialised once per process; each grammar's .wasm is read when a document of its
// language is first explained, then kept.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as TS from '@vscode/tree-sitter-wasm';

/** VS Code languageId → the grammar file and the rule family (code.ts). Only these grammars ship in the .vsix. */
export const GRAMMARS: Record<string, { file: string; family: 'python' | 'js' }> = {
  python: { file: 'tree-sitter-python.wasm', family: 'python' },
  javascript: { file: 'tree-sitter-javascript.wasm', family: 'js' },
  javascriptreact: { file: 'tree-sitter-javascript.wasm', family: 'js' },
  typescript: { file: 'tree-sitter-typescript.wasm', family: 'js' },
  typescriptreact: { file: 'tree-sitter-tsx.wasm', family: 'js' },
};

/** File extension → languageId, for the command line and dumps named by file. */
export const EXTENSION_LANGUAGE: Record<string, string> = {
  '.py': 'python',
  '.pyw': 'python',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.jsx': 'javascriptreact',
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
  '.tsx': 'typescriptreact',
  '.txt': 'plaintext',
  '.md': 'markdown',
};

export function languageOfPath(file: string): string | undefined {
  return EXTENSION_LANGUAGE[path.extname(file).toLowerCase()];
}

let runtime: Promise<typeof TS> | undefined;
const languages = new Map<string, Promise<TS.Language>>();

function wasmDir(): string {
  // The package's main is wasm/tree-sitter.js; the grammars lie beside it.
  return path.dirname(require.resolve('@vscode/tree-sitter-wasm'));
}

function loadRuntime(): Promise<typeof TS> {
  if (!runtime) {
    runtime = (async () => {
      const dir = wasmDir();
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use of a language, not with the extension
      const mod = require('@vscode/tree-sitter-wasm') as typeof TS;
      await mod.Parser.init({ locateFile: (file: string) => path.join(dir, file) });
      return mod;
    })();
    runtime.catch(() => {
      runtime = undefined;
    });
  }
  return runtime;
}

/** A parser for a languageId, or undefined when Headlight has no grammar for it. */
export async function parserFor(language: string): Promise<{ parser: TS.Parser; family: 'python' | 'js' } | undefined> {
  const g = GRAMMARS[language];
  if (!g) return undefined;
  const mod = await loadRuntime();
  let lang = languages.get(g.file);
  if (!lang) {
    lang = fs.promises.readFile(path.join(wasmDir(), g.file)).then((bytes) => mod.Language.load(bytes));
    languages.set(g.file, lang);
    lang.catch(() => languages.delete(g.file));
  }
  const parser = new mod.Parser();
  parser.setLanguage(await lang);
  return { parser, family: g.family };
}
