#!/usr/bin/env node
/**
 * The `stable6` command: a table of commands, each in its own file under commands/.
 * Thin over the library and the API client; all it owns is argument parsing and output.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isStable6Error } from '../errors.js';
import { exitStatusFor, type CliIo, type Command } from './cli-io.js';
import { genCommand } from './commands/gen.js';
import { secretCommand } from './commands/secret.js';
import { leaseCommand } from './commands/lease.js';
import { statusCommand } from './commands/status.js';
import { migrateCommand } from './commands/migrate.js';
import { daemonCommand } from './commands/daemon.js';
import { labCommand } from './commands/lab.js';

export const COMMANDS: readonly Command[] = [labCommand, genCommand, secretCommand, daemonCommand, statusCommand, leaseCommand, migrateCommand];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: stable6 COMMAND [OPTIONS]

stable6 makes stable, semantically opaque IPv6 addresses (RFC 7217).

Commands:
${lines.join('\n')}

Run 'stable6 COMMAND --help' for a command's options. Every command that prints takes --json.\n`;
}

/** Runs one command line; returns the exit status. Never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(overview());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`stable6: ERR_CLI_USAGE: unknown command ${JSON.stringify(name)}; run 'stable6 --help'\n`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (isStable6Error(error)) {
      io.stderr(`stable6: ${error.code}: ${error.message}\n`);
      return exitStatusFor(error);
    }
    io.stderr(`stable6: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: () => readAll(process.stdin),
  env: process.env,
};

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  process.exitCode = await runCli(process.argv.slice(2), processIo);
}
