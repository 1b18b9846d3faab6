/**
 * What every command shares: where it writes, how it fails, and the exit status.
 *
 * Exit status: 0 done; 2 the input was refused (usage, a bad value, an unsafe secret):
 * nothing was changed; 1 the work failed for another reason (I/O, the OS, the daemon).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Stable6Error, type ErrorCode } from '../errors.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
  env: Readonly<Record<string, string | undefined>>;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run: (argv: string[], io: CliIo) => Promise<number>;
}

/** Error codes that mean "the work failed", not "the input was refused". */
const RUNTIME_CODES = new Set<ErrorCode>([
  'ERR_SECRET_IO',
  'ERR_DAEMON_STATE_DIR',
  'ERR_API_UNAVAILABLE',
  'ERR_API_LEASE_FAILED',
  'ERR_API_BUSY',
  'ERR_API_RATE_LIMITED',
  'ERR_API_INTERNAL',
  'ERR_API_PROTOCOL',
  'ERR_API_TIMEOUT',
  'ERR_API_BIND',
  'ERR_API_SOCKET',
  'ERR_NETLINK_SOCKET',
  'ERR_NETLINK_REQUEST',
  'ERR_NETLINK_CLOSED',
  'ERR_PLATFORM_SETTINGS',
  'ERR_ICMPV6_SEND',
  'ERR_LAB_STEP',
  'ERR_COMPAT_MISMATCH',
]);

export function exitStatusFor(error: Stable6Error): number {
  return RUNTIME_CODES.has(error.code) ? 1 : 2;
}

export function usageError(message: string): Stable6Error {
  return new Stable6Error('ERR_CLI_USAGE', message);
}

/** util.parseArgs in strict mode, its errors turned into ERR_CLI_USAGE with the command named. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
): ReturnType<typeof parseArgs<{ options: T; args: string[]; strict: true; allowPositionals: boolean }>> {
  try {
    return parseArgs({ options, args: argv, strict: true, allowPositionals });
  } catch (cause) {
    throw new Stable6Error('ERR_CLI_USAGE', `${command}: ${(cause as Error).message.replace(/\s*\n\s*/g, ' ')}`, { cause });
  }
}

/** Parses a decimal integer option within [min, max]; anything else names the option. */
export function parseIntegerOption(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw usageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
