import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, formatLogLine } from '../../src/daemon/logger.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';

test('log lines: one line, level or syslog priority, quoted fields, level filter', () => {
  assert.equal(formatLogLine('info', 'address tentative -> preferred', { address: '2001:db8::1', iface: 'eth0' }), 'INFO  address tentative -> preferred address=2001:db8::1 iface=eth0');
  assert.equal(formatLogLine('warn', 'two\nlines', { why: 'has space', n: 3 }, true), '<4>two lines why="has space" n=3');
  const lines: string[] = [];
  const log = createLogger('warn', (l) => lines.push(l), false);
  log.info('hidden');
  log.error('shown', { code: 'ERR_X' });
  assert.deepEqual(lines, ['ERROR shown code=ERR_X']);
});

test('metrics: gauges read the daemon at scrape time, counters count, /metrics serves them', async () => {
  let addresses = { preferred: 2, tentative: 1 };
  let repairs = 2;
  const metrics = new DaemonMetrics({ snapshot: () => ({ addressesByState: addresses, prefixes: 3, leases: 4, dadConflicts: 1, repairs, prefixReports: 7 }) });
  const server = await metrics.listen('127.0.0.1:0');
  try {
    const port = (server.address() as { port: number }).port;
    const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let text = await scrape();
    assert.match(text, /^stable6_addresses\{state="preferred"\} 2$/m);
    assert.match(text, /^stable6_addresses\{state="failed"\} 0$/m);
    assert.match(text, /^stable6_dad_conflicts_total 1$/m);
    assert.match(text, /^stable6_repairs_total 2$/m);
    assert.match(text, /^stable6_prefixes 3$/m);
    assert.match(text, /^stable6_leases 4$/m);
    assert.match(text, /^stable6_prefix_reports_total 7$/m);
    addresses = { preferred: 5, tentative: 0 };
    repairs = 5;
    text = await scrape();
    assert.match(text, /^stable6_addresses\{state="preferred"\} 5$/m);
    assert.match(text, /^stable6_repairs_total 5$/m, 'counters follow the engine total, not the scrape count');
    text = await scrape();
    assert.match(text, /^stable6_repairs_total 5$/m);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
  } finally {
    server.close();
  }
});
