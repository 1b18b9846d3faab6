/**
 * Log lines for people and for journald: one line per event, `<N>` syslog priority first
 * when stderr goes to the journal (journald strips it and sets the priority), then the
 * message and `key=value` fields. Values are quoted when they need it. Secrets never reach
 * a logger: nothing here formats a secret, and callers pass fingerprints, not keys.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const SYSLOG: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

function formatValue(value: unknown): string {
  const text = typeof value === 'string' ? value : value instanceof Error ? value.message : JSON.stringify(value) ?? String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

export function formatLogLine(level: LogLevel, message: string, fields: Record<string, unknown> = {}, syslogPrefix = false): string {
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${formatValue(v)}`);
  const head = syslogPrefix ? `<${SYSLOG[level]}>` : `${level.toUpperCase().padEnd(5)} `;
  return `${head}${message.replace(/\n/g, ' ')}${parts.length ? ` ${parts.join(' ')}` : ''}`;
}

/** A logger writing lines to `write`; under systemd (JOURNAL_STREAM set) with syslog priorities. */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(`${line}\n`), journal = process.env.JOURNAL_STREAM !== undefined): Logger {
  const log = (at: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (RANK[at] >= RANK[level]) write(formatLogLine(at, message, fields, journal));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
