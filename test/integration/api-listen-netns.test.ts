/**
 * End to end through the API in network namespaces: a process running as 'nobody' inside the
 * host namespace leases an address with listenStable, binds a TCP server on it, and a client in
 * the router namespace connects to it. The lease service here is a test stand-in for the daemon
 * (the in-memory service whose DAD step adds the address with `ip` and waits for the kernel's
 * real DAD to finish), so what is shown is the API, SO_PEERCRED and the client, not the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryLeaseService } from '../../src/api/memory-lease-service.js';
import { ApiServer } from '../../src/api/server.js';
import { Netns, linkVeth, requirePrivileged, tcpReply, waitFor } from '../helpers/netns.js';

const CLIENT = fileURLToPath(new URL('../../src/api/client.js', import.meta.url));

interface IpAddr {
  addr_info?: { local: string; tentative?: boolean; dadfailed?: boolean }[];
}

test('nobody leases an address in a namespace, listens on it, and the router reaches it', async (t) => {
  if (!requirePrivileged(t, ['setpriv'])) return;
  const dir = mkdtempSync(path.join(tmpdir(), 's6t-api-'));
  chmodSync(dir, 0o755);
  const socketPath = path.join(dir, 'api.sock');
  let host: Netns | undefined;
  let router: Netns | undefined;
  let server: ApiServer | undefined;
  try {
    host = await Netns.create();
    router = await Netns.create();
    const h = host;
    await linkVeth(h, 'eth0', router, 'r0');
    await h.fastDad('eth0');
    await router.ip('addr', 'add', '2001:db8:77::1/64', 'dev', 'r0', 'nodad');

    const service = new MemoryLeaseService({
      interfaces: { eth0: ['2001:db8:77::/64'] },
      dad: async (address) => {
        await h.ip('addr', 'add', `${address}/64`, 'dev', 'eth0');
        return waitFor(`DAD of ${address}`, async () => {
          const [link] = await h.ipJson<IpAddr[]>('addr', 'show', 'dev', 'eth0');
          const info = link?.addr_info?.find((a) => a.local === address);
          if (info === undefined || info.dadfailed) return false;
          return info.tentative ? undefined : true;
        }, 10_000);
      },
    });
    server = await ApiServer.listen({ socketPath, service, socketMode: 0o666 });

    const script = `
      const net = await import('node:net');
      const { listenStable } = await import(${JSON.stringify(CLIENT)});
      const server = net.createServer((s) => { s.end('hello from uid ' + process.getuid()); server.close(); });
      const { address, port } = await listenStable(server, { label: 'svc', interface: 'eth0', port: 0, socketPath: ${JSON.stringify(socketPath)} });
      process.stdout.write(JSON.stringify({ address, port }) + '\\n');
    `;
    const child = spawn(
      'ip',
      ['netns', 'exec', h.name, 'setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const { address, port } = await waitFor('the child to listen', () => {
        const line = out.split('\n')[0];
        if (child.exitCode !== null) throw new Error(`child exited ${child.exitCode}: ${err}`);
        return Promise.resolve(out.includes('\n') && line ? (JSON.parse(line) as { address: string; port: number }) : undefined);
      }, 20_000);
      assert.ok(address.startsWith('2001:db8:77:'), address);
      assert.equal(service.list()[0]?.uid, 65534);

      const reply = await tcpReply(router, address, port);
      assert.equal(reply, 'hello from uid 65534');
      assert.equal(await exited, 0, err);
      // The server closed, so the connection-bound lease ended with the process.
      await waitFor('the lease to end', () => Promise.resolve(service.list().length === 0 ? true : undefined), 10_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  } finally {
    await server?.close();
    await host?.destroy();
    await router?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
