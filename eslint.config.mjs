// @ts-check
// ESLint (flat config) with typescript-eslint's type-aware rules over every TypeScript file of the repository, each
// checked with the tsconfig that compiles it (projectService finds the nearest one). `npm run lint` allows no warning.
// Formatting is Prettier's (.prettierrc.json): eslint-config-prettier, last, turns off every rule it would fight.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Generated or fetched: bundles, the code-server install, bench results, test screenshots, the bundled models.
    ignores: [
      'node_modules/',
      'dist/',
      'out/',
      '.code-server/',
      '.e2e/',
      '.demo/',
      'bench/results/',
      'scripts/models/work/',
      'test/**/artifacts/',
      'media/',
      'python/',
      'samples/',
      '.scratch/',
      'scratch/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // onnx-proto types a tensor's dataType or an attribute's type as `number` and its schema enums as TypeScript
      // enums: comparing the one with the other is how the ONNX schema is read, not a mix-up of two enums.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // A Promise-returning contract implemented synchronously stays `async`, so that a throw still reaches the
      // caller as a rejection; dropping `async` to please this rule would change that.
      '@typescript-eslint/require-await': 'off',
      // Promise.all over `cond ? undefined : promise` is how a few lookups skip an item; undefined settles at once.
      '@typescript-eslint/await-thenable': ['error', { allowMixedPromiseArrays: true }],
      // A promise returned from inside try/catch/finally without `await` escapes its catch and finally: an error lost.
      '@typescript-eslint/return-await': ['error', 'error-handling-correctness-only'],
      'prefer-const': ['error', { destructuring: 'all' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // `typeof import('…')` stays allowed: it types the lazy require() of a module loaded on first use.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      // A leading underscore marks a parameter or binding kept on purpose (a signature to honour, a field left out of a rest).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests and benchmarks read JSON written by the code under test (package.json, exported views, bench results)
    // and assert its shape right there: a cast to the expected type would assume what the test checks.
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // test/e2e/tsconfig.json compiles the hostile-workspace suites too; the project service would look for them in
    // the root tsconfig.json (the nearest one), which leaves *.e2e.ts out.
    files: ['test/hostile/**/*.e2e.ts'],
    languageOptions: { parserOptions: { projectService: false, project: ['test/e2e/tsconfig.json'] } },
  },
  {
    // The build and test scripts, the CLI shim and the model scripts are plain JavaScript run by Node, in no tsconfig:
    // linted with the rules that need no types.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node, parserOptions: { projectService: false } },
  },
  {
    // CommonJS (the CLI shim, the model scripts): require() is their module system.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
