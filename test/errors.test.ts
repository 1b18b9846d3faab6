import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, Stable6Error, isStable6Error } from '../src/errors.js';

test('docs/errors.md lists exactly the codes in ERROR_CODES, with the same meaning', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const rows = new Map<string, string>();
  for (const match of doc.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \| (.+?) \|$/gm)) rows.set(match[1] ?? '', match[2] ?? '');
  assert.deepEqual([...rows.keys()].sort(), Object.keys(ERROR_CODES).sort());
  for (const [code, meaning] of Object.entries(ERROR_CODES)) assert.equal(rows.get(code), meaning, code);
});

test('every code reads ERR_<AREA>_<PROBLEM>', () => {
  for (const code of Object.keys(ERROR_CODES)) assert.match(code, /^ERR_[A-Z0-9]+_[A-Z0-9_]+$/);
});

test('Stable6Error carries its code, details and cause', () => {
  const cause = new Error('EACCES');
  const error = new Stable6Error('ERR_SECRET_IO', 'cannot read', { cause, details: { file: '/x' } });
  assert.equal(error.code, 'ERR_SECRET_IO');
  assert.equal(error.cause, cause);
  assert.deepEqual(error.details, { file: '/x' });
  assert.ok(isStable6Error(error, 'ERR_SECRET_IO'));
  assert.ok(!isStable6Error(error, 'ERR_CLI_USAGE'));
  assert.ok(!isStable6Error(new Error('x')));
});
