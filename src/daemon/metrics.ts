/**
 * Prometheus metrics (prom-client), served on a configured local address at /metrics.
 * Everything is read from the daemon when scraped, so no second bookkeeping can drift from
 * the engine's: gauges are set, and counters advance by what the engine counted since.
 */
import http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { Stable6Error } from '../errors.js';

export interface MetricsSnapshot {
  addressesByState: Record<string, number>;
  prefixes: number;
  leases: number;
  /** Monotonic totals since the daemon started. */
  dadConflicts: number;
  repairs: number;
  prefixReports: number;
}

export interface MetricsSource {
  snapshot(): MetricsSnapshot;
}

export class DaemonMetrics {
  readonly registry = new Registry();

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    const counter = (name: string, help: string, pick: (s: MetricsSnapshot) => number): void => {
      let seen = 0;
      new Counter({
        name,
        help,
        registers,
        collect() {
          const total = pick(source.snapshot());
          if (total > seen) this.inc(total - seen);
          seen = Math.max(seen, total);
        },
      });
    };
    counter('stable6_dad_conflicts_total', 'Duplicate address detection failures of stable6 addresses', (s) => s.dadConflicts);
    counter('stable6_repairs_total', 'Owned addresses or gateways put back after the stack dropped them', (s) => s.repairs);
    counter('stable6_prefix_reports_total', 'Prefix Information Options received from Router Advertisements', (s) => s.prefixReports);
    new Gauge({
      name: 'stable6_addresses',
      help: 'stable6 addresses by state',
      labelNames: ['state'],
      registers,
      collect() {
        const { addressesByState } = source.snapshot();
        this.reset();
        for (const state of ['tentative', 'preferred', 'deprecated', 'failed']) this.set({ state }, addressesByState[state] ?? 0);
      },
    });
    new Gauge({
      name: 'stable6_prefixes',
      help: 'Prefixes stable6 makes addresses in',
      registers,
      collect() {
        this.set(source.snapshot().prefixes);
      },
    });
    new Gauge({
      name: 'stable6_leases',
      help: 'Per-application leases',
      registers,
      collect() {
        this.set(source.snapshot().leases);
      },
    });
  }

  /** Serves /metrics on host:port; resolves once listening. */
  async listen(hostPort: string): Promise<http.Server> {
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hostPort);
    if (!match) throw new Stable6Error('ERR_CONFIG_INVALID', `metrics.listen: ${JSON.stringify(hostPort)} is not host:port`);
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(match[2]), match[1], () => resolve());
    });
    return server;
  }
}
