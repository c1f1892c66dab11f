// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'bench/results/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Layer rules (house style): the core knows no protocol, no adapter, no auth.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/**', '**/auth/**', '**/config/**', '**/store/**'],
              message:
                'core/ knows no protocol, adapter, config or store: it owns the contracts (core/adapter.ts, core/ledger.ts) that those implement',
            },
            {
              group: ['irc-framework', 'matrix-bot-sdk', 'graphql-ws', 'graphql', 'ws', 'playwright-core'],
              message: 'core/ imports no protocol library',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/adapters/irc/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/kosmi/**', '**/adapters/matrix/**'],
              message: 'an adapter never imports another adapter',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/adapters/kosmi/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/irc/**', '**/adapters/matrix/**'],
              message: 'an adapter never imports another adapter',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/adapters/matrix/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/irc/**', '**/adapters/kosmi/**'],
              message: 'an adapter never imports another adapter',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
