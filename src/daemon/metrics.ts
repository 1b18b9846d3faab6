/**
 * Prometheus metrics (prom-client), served on a configured local address at /metrics.
 * Gauges are read from the daemon's status when scraped; counters count events.
 */
import http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { Stable6Error } from '../errors.js';

export interface MetricsSource {
  /** Addresses by state, and prefixes, at the time of the scrape. */
  snapshot(): { addressesByState: Record<string, number>; prefixes: number; leases: number };
}

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly dadConflicts: Counter;
  readonly repairs: Counter;
  readonly routerAdvertisements: Counter;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    this.dadConflicts = new Counter({ name: 'stable6_dad_conflicts_total', help: 'Duplicate address detection failures of stable6 addresses', registers });
    this.repairs = new Counter({ name: 'stable6_repairs_total', help: 'Owned addresses or gateways put back after the stack dropped them', registers });
    this.routerAdvertisements = new Counter({ name: 'stable6_prefix_reports_total', help: 'Prefix Information Options received from Router Advertisements', registers });
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
