/**
 * Runs the engine and its driver on the real Linux platform with real timers, inside whatever
 * network namespace it is started in (`ip netns exec NS node real-runner.js ...`). Used by
 * real-kernel.test.ts; prints one JSON line per command it applies.
 *
 * argv: ifname, state file (read if it exists, written on every persist-state).
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { Engine } from '../../src/engine/engine.js';
import { EngineDriver, systemClock } from '../../src/engine/driver.js';
import { createLinuxPlatform } from '../../src/platform/linux/linux-platform.js';
import { SECRET } from './harness.js';

const [ifname, stateFile] = process.argv.slice(2) as [string, string];
const persisted = existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : undefined;
const engine = new Engine({ secret: SECRET, logger: { log: (level, message) => process.stderr.write(`${level} ${message}\n`) } });
const platform = createLinuxPlatform();
const driver = new EngineDriver({
  engine,
  platform,
  clock: systemClock,
  initialState: engine.initialState(persisted),
  persist: (state) => writeFileSync(stateFile, JSON.stringify(state)),
  onCommand: (command) => process.stdout.write(`${JSON.stringify(command)}\n`),
});
await driver.start({ interfaces: [{ name: ifname }], idgenRetries: 3, idgenDelayMs: 200 });
process.stdout.write(`${JSON.stringify({ type: 'started' })}\n`);
process.on('SIGTERM', () => {
  void driver.stop(false).then(() => platform.close()).then(() => process.exit(0));
});
