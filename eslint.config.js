import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.local/', '.bench/', '.cache/', 'coverage/', '.stryker-tmp/', 'reports/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    files: ['src/**/*.ts'],
    rules: {
      // The app prints only through its one reporting path: a stray console.log(error) is how
      // secrets leak (axios errors carry the URL and headers).
      'no-console': 'error',
    },
  },
  {
    // Fixture apps and the bench floor: plain CommonJS scripts, run as the bundle would be.
    files: ['test/fixtures/*.cjs', 'tools/**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    // Tests index into what they have just written; a wrong guess fails the test anyway.
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
