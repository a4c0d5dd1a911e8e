// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The processing core knows nothing of HTTP, cron or XML, and nothing of the edges that call it.
const coreForbidden = {
  paths: ['hono', 'node-cron', 'fast-xml-parser', 'xmlbuilder2', '@hono/node-server'],
  patterns: [
    { group: ['hono/*', '@hono/*'], message: 'gateway/core must not depend on HTTP.' },
    {
      group: ['**/http/**', '**/jobs/**', '**/adapters/**'],
      message: 'gateway/core declares ports; edges depend on it, never the other way round.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/', 'test-artifacts/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] } },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a string-literal union.' },
      ],
    },
  },
  {
    files: ['bin/*.js'],
    languageOptions: { globals: { process: 'readonly' } },
  },
  {
    // Tests read JSON answers field by field; typing every response body would only add noise.
    // Floating promises and the rest stay errors.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    files: ['gateway/core/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', coreForbidden] },
  },
  {
    files: ['migrations/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/gateway/**'], message: 'Migrations never import application code.' },
          ],
        },
      ],
    },
  },
);
