// SPDX-License-Identifier: Apache-2.0
// Lint rules carry the house style: no `export *`, no floating promises, no console in src,
// and the layer table of ARCHITECTURE.md (imports point one way; only src/ebpf loads the addon).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { layerRules } from './scripts/layer-rules.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bpf/**', 'native/**', 'bench/.output/**', '*.config.js', 'scripts/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'Use explicit named exports.' }],
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test runs these itself; awaiting them is not required.
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }],
      }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-console': 'error' },
  },
  ...layerRules,
);
