#!/usr/bin/env node
// Rewrites man/stable6.8 from the commands' usage texts (run after `npm run build`).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { COMMANDS } from '../dist/src/cli/main.js';
import { renderManPage } from '../dist/src/cli/man-page.js';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
mkdirSync('man', { recursive: true });
writeFileSync('man/stable6.8', renderManPage(COMMANDS, version));
