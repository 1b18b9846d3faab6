/** Test helpers: an ApiServer on a temp socket over the in-memory service, playing any user. */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiServer, type ApiServerOptions } from '../../src/api/server.js';
import { MemoryLeaseService, type MemoryLeaseServiceOptions } from '../../src/api/memory-lease-service.js';
import type { PeerCredentials } from '../../src/platform/linux/peercred.js';

export interface Harness {
  server: ApiServer;
  service: MemoryLeaseService;
  socketPath: string;
  dir: string;
  /** The identity the next accepted connection gets. */
  as: (uid: number, gid?: number, groups?: number[]) => void;
  close: () => Promise<void>;
}

export const PREFIXES = { eth0: ['2001:db8:1:2::/64', '2001:db8:9:9::/64'], eth1: ['fd00:1::/64'], empty: [] };

export async function startHarness(
  options: Partial<ApiServerOptions> = {},
  serviceOptions: Partial<MemoryLeaseServiceOptions> = {},
): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), 's6api-'));
  const socketPath = path.join(dir, 'api.sock');
  let next: PeerCredentials = { pid: 4242, uid: 1000, gid: 1000, groups: [] };
  const service = new MemoryLeaseService({ interfaces: PREFIXES, ...serviceOptions });
  const server = await ApiServer.listen({ socketPath, service, identify: () => ({ ...next, groups: [...next.groups] }), ...options });
  return {
    server,
    service,
    socketPath,
    dir,
    as: (uid, gid = uid, groups = []) => {
      next = { pid: 4242, uid, gid, groups };
    },
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  text: string;
}

/** One request on a new connection (or on `agent`'s), the reply's JSON parsed. */
export function request(
  socketPath: string,
  method: string,
  urlPath: string,
  body?: unknown,
  options: { agent?: http.Agent; raw?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const req = http.request(
      {
        socketPath,
        method,
        path: urlPath,
        agent: options.agent ?? false,
        headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      },
      (res) => readReply(res).then(resolve, reject),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The whole answer: status, headers, text, and the body parsed as JSON when it is JSON. */
export async function readReply(res: http.IncomingMessage): Promise<Reply> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.statusCode ?? 0, headers: res.headers, body, text };
}

export function errorCode(reply: Reply): string | undefined {
  return (reply.body as { error?: { code?: string } } | undefined)?.error?.code;
}

/** Waits until `check` is true, polling; fails after `timeoutMs` (generous: loaded machines). */
export async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
