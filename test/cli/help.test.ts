import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { COMMANDS } from '../../src/cli/main.js';
import { renderManPage } from '../../src/cli/man-page.js';
import { cli } from '../helpers/cli.js';

test('every command has --help with its usage, and the overview lists them all', async () => {
  const overview = await cli(['--help']);
  assert.equal(overview.status, 0);
  for (const command of COMMANDS) {
    assert.match(overview.stdout, new RegExp(`^  ${command.name} +${command.summary.replace(/[()|.*+?[\]]/g, '\\$&')}$`, 'm'));
    const help = await cli([command.name, '--help']);
    assert.equal(help.status, 0, command.name);
    assert.equal(help.stdout, `${command.usage}\n`, command.name);
    assert.match(command.usage, new RegExp(`^Usage: stable6 ${command.name}`));
  }
});

test('man/stable6.8 is the page made from the usage texts (run npm run man after changing one)', () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  assert.equal(readFileSync('man/stable6.8', 'utf8'), renderManPage(COMMANDS, version));
  for (const command of COMMANDS) assert.ok(readFileSync('man/stable6.8', 'utf8').includes(`.SS ${command.name}`));
});
