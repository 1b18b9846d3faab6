import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'inject randomness (crypto in the daemon, an argument in core/engine)' },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/engine/**/*.ts', 'src/codec/**/*.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'core, codec and engine take the time as an argument' }],
      'no-restricted-imports': ['error', { paths: ['node:fs', 'node:net', 'node:dgram', 'node:child_process', 'fs', 'net'] }],
    },
  },
);
