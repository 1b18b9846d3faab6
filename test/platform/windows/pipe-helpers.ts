/** Test helpers: the real ApiServer over NamedPipeListener over FakePipeKernel, and HTTP requests from fake clients. */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiServer, type ApiServeOptions } from '../../../src/api/server.js';
import { MemoryLeaseService } from '../../../src/api/memory-lease-service.js';
import { FakePipeKernel, fakeUserToken, type FakeToken } from '../../../src/platform/windows/pipe-fake.js';
import { NamedPipeListener, type NamedPipeListenerOptions } from '../../../src/platform/windows/pipe-listener.js';
import { SidIdRegistry } from '../../../src/platform/windows/pipe-sid.js';
import { readReply } from '../../api/helpers.js';

export const PIPE = '\\\\.\\pipe\\stable6-test';
export const ALICE = 'S-1-5-21-1004336348-1177238915-682003330-1001';
export const BOB = 'S-1-5-21-1004336348-1177238915-682003330-1002';
/** Same RID as ALICE, another domain: a different person. */
export const MALLORY = 'S-1-5-21-3623811015-3361044348-30300820-1001';
export const ADMIN = 'S-1-5-21-1004336348-1177238915-682003330-500';

export const alice = fakeUserToken(ALICE);
export const bob = fakeUserToken(BOB);
export const mallory = fakeUserToken(MALLORY);
export const elevatedAdmin = fakeUserToken(ADMIN, { admin: true, elevated: true });
export const filteredAdmin = fakeUserToken(ADMIN, { admin: true, elevated: false });

export interface PipeHarness {
  kernel: FakePipeKernel;
  listener: NamedPipeListener;
  server: ApiServer;
  service: MemoryLeaseService;
  registry: SidIdRegistry;
  logs: string[];
  close: () => Promise<void>;
}

export async function startPipeHarness(
  options: { listener?: Partial<NamedPipeListenerOptions>; server?: Partial<ApiServeOptions>; kernel?: FakePipeKernel } = {},
): Promise<PipeHarness> {
  const kernel = options.kernel ?? new FakePipeKernel();
  const registry = new SidIdRegistry();
  const logs: string[] = [];
  const log = (line: string): void => void logs.push(line);
  const listener = new NamedPipeListener({ name: PIPE, api: kernel, registry, log, ...options.listener });
  const service = new MemoryLeaseService({ interfaces: { eth0: ['2001:db8:1:2::/64'], eth1: ['fd00:1::/64'] } });
  const server = await ApiServer.serve({ source: listener, service, log, ...options.server });
  return { kernel, listener, server, service, registry, logs, close: () => server.close() };
}

export interface PipeReply {
  status: number;
  body: unknown;
  text: string;
}

/** One HTTP request on a new pipe connection opened with `token`. */
export function pipeRequest(
  kernel: FakePipeKernel,
  token: FakeToken,
  method: string,
  path: string,
  body?: unknown,
  options: { raw?: string; pid?: number; name?: string } = {},
): Promise<PipeReply> {
  return new Promise((resolve, reject) => {
    const payload = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const req = http.request(
      {
        method,
        path,
        // No agent: node:http then asks createConnection, which may answer through the callback.
        createConnection: (_options: unknown, done: (error: Error | null, socket: Duplex) => void) => {
          kernel.connectWhenFree(options.name ?? PIPE, token, { pid: options.pid ?? 777 }).then(
            (socket) => done(null, socket),
            (error: Error) => done(error, undefined as unknown as Duplex),
          );
          return undefined;
        },
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => readReply(res).then(({ status, body, text }) => resolve({ status, body, text }), reject),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export function codeOf(reply: PipeReply): string | undefined {
  return (reply.body as { error?: { code?: string } } | undefined)?.error?.code;
}

/** A raw client connection (errors after a reset are expected and ignored). */
export async function rawClient(kernel: FakePipeKernel, token: FakeToken): Promise<Duplex> {
  const socket = await kernel.connectWhenFree(PIPE, token);
  socket.on('error', () => undefined);
  return socket;
}

/** Waits for a stream to close (or error). */
export function closed(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) resolve();
    else stream.once('close', () => resolve());
  });
}

/** Polls until `check` holds; generous for loaded machines. */
export async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** After close(): nothing open, nothing pending, nobody impersonated, no misuse. */
export function assertClean(kernel: FakePipeKernel, listener: NamedPipeListener): string[] {
  const problems: string[] = [];
  if (kernel.openHandles().length > 0) problems.push(`open handles: ${kernel.openHandles().join(', ')}`);
  if (kernel.liveIoBlocks > 0) problems.push(`${kernel.liveIoBlocks} I/O blocks not freed`);
  if (kernel.pendingOperations > 0) problems.push(`${kernel.pendingOperations} operations pending`);
  if (kernel.pendingWaits > 0) problems.push(`${kernel.pendingWaits} completion waits pending`);
  if (kernel.impersonating) problems.push('still impersonating');
  if (listener.pendingOperations !== 0 || listener.instanceCount !== 0) problems.push(`listener: ${listener.pendingOperations} pending, ${listener.instanceCount} instances`);
  problems.push(...kernel.violations);
  return problems;
}
