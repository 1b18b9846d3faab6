/**
 * The one place that picks a backend by operating system (STYLE.md §7). Nothing else in
 * stable6 looks at `process.platform`.
 */
import type { ConnectionSource } from '../api/server.js';
import type { IdDatabase } from '../api/policy.js';
import { Stable6Error } from '../errors.js';
import { createLinuxPlatform, type LinuxPlatformOptions } from './linux/linux-platform.js';
import type { Platform } from './platform.js';
import type { PipeServerApi } from './windows/pipe-server-api.js';
import type { WindowsPlatformOptions } from './windows/windows-platform.js';

export interface OpenPlatformOptions {
  linux?: LinuxPlatformOptions;
  /** For win32 (the daemon passes what a previous run owned, its clock and error log). */
  windows?: Omit<WindowsPlatformOptions, 'ipHelper'>;
  /** For tests: pretend to be this OS. */
  os?: NodeJS.Platform;
}

/** The platform of the running OS; ERR_PLATFORM_UNSUPPORTED where stable6 has no backend. */
export async function openPlatform(options: OpenPlatformOptions = {}): Promise<Platform> {
  const os = options.os ?? process.platform;
  switch (os) {
    case 'linux':
      return createLinuxPlatform(options.linux);
    case 'win32': {
      // Loaded on demand: importing it loads no DLL; the bindings load on first use.
      const { createWindowsPlatform } = await import('./windows/index.js');
      return createWindowsPlatform(options.windows);
    }
    default:
      throw new Stable6Error('ERR_PLATFORM_UNSUPPORTED', `stable6 has no platform backend for ${os} (supported: linux, win32)`, { details: { os } });
  }
}

/** The kind of platform openPlatform() gives on this OS (before opening it). */
export function hostPlatformKind(os: NodeJS.Platform = process.platform): Platform['kind'] {
  return os === 'win32' ? 'windows' : 'linux';
}

/**
 * How the local API is served for a platform, chosen here so that the daemon never looks at
 * the OS: a Unix socket file with passwd/group names in the policy, or on Windows the named
 * pipe (NamedPipeListener, whose connections carry the caller's token) with SIDs in the policy.
 */
export type ApiTransport =
  | { kind: 'unix-socket'; ids: IdDatabase }
  | {
      kind: 'named-pipe';
      /** allowed_users / allowed_groups as SIDs (sidIdDatabase); names stay unknown and the policy refuses them. */
      ids: IdDatabase;
      /** Not started yet: ApiServer.serve({ source }) starts it. */
      source: ConnectionSource;
      /** Every SID given a uid so far (the daemon persists them, to seed the next run: ApiTransportOptions.knownSids). */
      knownSids: () => string[];
    };

export interface ApiTransportOptions {
  /** config.api.socket: used as the pipe name on Windows when it is one (`\\.\pipe\...`). */
  socket: string;
  allowedUsers: readonly (string | number)[];
  allowedGroups: readonly (string | number)[];
  /** The kernel32 pipe calls; default the koffi binding (loadPipeServerApi). Tests pass FakePipeKernel. */
  pipeApi?: PipeServerApi;
  log?: (line: string) => void;
  /** Windows: the SIDs earlier runs gave uids, so that a uid keeps meaning one SID across restarts. */
  knownSids?: readonly string[];
  /** Windows: called when a SID is given a uid for the first time. */
  onNewSid?: () => void;
}

/**
 * The API transport for a platform of `kind` ('windows': the named pipe; anything else: the
 * Unix socket, exactly as before). Opens nothing on the host: the pipe is created when the
 * server starts the source.
 */
export async function openApiTransport(kind: Platform['kind'], options: ApiTransportOptions): Promise<ApiTransport> {
  if (kind !== 'windows') {
    const { readIdDatabase } = await import('../api/id-database.js');
    return { kind: 'unix-socket', ids: await readIdDatabase() };
  }
  // Loaded on demand, like the Windows platform: nothing of it on Linux hosts.
  const [{ NamedPipeListener, DEFAULT_PIPE_NAME }, { SidIdRegistry, sidIdDatabase }] = await Promise.all([
    import('./windows/pipe-listener.js'),
    import('./windows/pipe-sid.js'),
  ]);
  // One registry for the policy and the listener, so a SID has the same uid in both.
  const registry = new SidIdRegistry(options.knownSids ?? []);
  const onNewSid = options.onNewSid;
  if (onNewSid) registry.onNew(() => onNewSid());
  const ids = sidIdDatabase({ users: options.allowedUsers, groups: options.allowedGroups }, registry);
  const pipeApi = options.pipeApi ?? (await import('./windows/pipe-kernel32.js')).loadPipeServerApi();
  const name = /^\\\\\.\\pipe\\/i.test(options.socket) ? options.socket : DEFAULT_PIPE_NAME;
  const source = new NamedPipeListener({ name, api: pipeApi, registry, ...(options.log ? { log: options.log } : {}) });
  return { kind: 'named-pipe', ids, source, knownSids: () => registry.knownSids() };
}
