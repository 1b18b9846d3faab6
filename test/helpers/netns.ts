/**
 * Network namespaces for privileged tests.
 *
 * Every namespace is made by the test that uses it, with a name unique to this run
 * (`s6t-<pid>-<n>`), and removed in every outcome: by `destroy()` in the test's
 * `after`, and by an exit hook if the process ends first. Nothing here touches the
 * machine's own interfaces or sends traffic outside the namespaces it made.
 */
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { waitFor as labWaitFor, type Netns } from '../../src/lab/netns.js';

function which(binary: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * True when namespace tests can run here. Outside CI a missing prerequisite skips the
 * test with the reason; under CI=true it fails the test (never a silent skip).
 */
export function requirePrivileged(t: TestContext, binaries: string[] = []): boolean {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const binary of ['ip', ...binaries]) if (!which(binary)) missing.push(binary);
  if (missing.length === 0) return true;
  const reason = `needs ${missing.join(', ')}`;
  if (process.env.CI === 'true') throw new Error(`privileged test cannot run under CI=true: ${reason}`);
  t.skip(reason);
  return false;
}

export { Netns, linkVeth } from '../../src/lab/netns.js';

/** Waits until `check` returns a value other than undefined, or throws after `timeoutMs`. */
export function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  return labWaitFor(what, check, timeoutMs);
}

/**
 * Connects from inside `ns` to [host]:port with a throw-away node process and resolves with
 * everything the server sends before it closes (a failed connection fails the process).
 */
export function tcpReply(ns: Netns, host: string, port: number): Promise<string> {
  return ns.exec(
    process.execPath,
    '-e',
    `const s = require('node:net').connect({ host: ${JSON.stringify(host)}, port: ${port} });
     let d = ''; s.setEncoding('utf8'); s.on('data', (c) => d += c); s.on('end', () => process.stdout.write(d));
     s.on('error', (e) => { console.error(e.message); process.exit(1); });`,
  );
}
